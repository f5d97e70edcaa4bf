// A raw HTTP/1.x client connection for tests that need control over the bytes: several requests on
// one keep-alive connection, HTTP/1.0, odd framing, trailers, or reading the way a hostile client
// does (stop reading, then resume). Every read waits on the socket with a deadline (poll), never a
// sleep.
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
  // Connects to 127.0.0.1:port; `receive_buffer` > 0 shrinks the socket's receive buffer first, so
  // that a client that stops reading pushes back on the server quickly.
  explicit RawConnection(int port, int receive_buffer = 0);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(const std::string& bytes);
  // Reads one response: Content-Length, chunked, or (HTTP/1.0, no length) to the close. HEAD
  // responses have no body (`head_request`).
  RawResponse read_response(std::chrono::milliseconds deadline = std::chrono::seconds(10), bool head_request = false);
  // Raw bytes (unparsed) until `needle` has arrived, the close, or the deadline; taken out of the
  // connection's buffer.
  std::string read_until_text(const std::string& needle, std::chrono::milliseconds deadline);
  // Reads until `done(received so far)` holds, the peer closes, or the deadline passes; the bytes
  // stay in the buffer (received()).
  template <typename Done>
  const std::string& read_until(Done&& done, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (!done(buffer_) && fill(until)) {
    }
    return buffer_;
  }
  // Reads until the peer closes the connection (true) or the deadline passes (false).
  bool read_until_closed(std::chrono::milliseconds deadline = std::chrono::seconds(10)) { return wait_closed(deadline); }
  const std::string& received() const { return buffer_; }
  bool closed() const { return eof_; }
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
