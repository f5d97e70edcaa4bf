// A raw HTTP/1.x client connection for tests that need control over the bytes: several requests on
// one keep-alive connection, HTTP/1.0, malformed framing. Every read waits on the socket with a
// deadline (poll), never a sleep.
#pragma once

#include <chrono>
#include <string>

namespace llmux::test {

struct RawResponse {
  bool complete = false;  // a whole response was read before the deadline / close
  std::string head;       // status line and headers, up to and including the blank line
  std::string body;       // de-chunked
  int status = 0;
  bool closed = false;    // the server closed the connection after (or instead of) this response
  std::string header(const std::string& name) const;  // case-insensitive; "" if absent
};

class RawConnection {
 public:
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(const std::string& bytes);
  // Reads one response: Content-Length, chunked, or (HTTP/1.0, no length) to the close. HEAD
  // responses have no body (`head_request`).
  RawResponse read_response(std::chrono::milliseconds deadline = std::chrono::seconds(10), bool head_request = false);
  // Raw bytes (unparsed) until `needle` has arrived, the close, or the deadline.
  std::string read_until(const std::string& needle, std::chrono::milliseconds deadline);
  // True when the server closes the connection (EOF) before the deadline.
  bool wait_closed(std::chrono::milliseconds deadline);
  void close();
  int fd() const { return fd_; }

 private:
  bool fill(std::chrono::steady_clock::time_point until);  // reads more into buffer_; false on EOF/deadline
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// "POST path HTTP/1.1" with a JSON body, Content-Length and any extra header lines.
std::string raw_post(const std::string& path, const std::string& body, const std::string& extra_headers = "",
                     const std::string& version = "HTTP/1.1");

}  // namespace llmux::test
