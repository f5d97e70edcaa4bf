// A plain TCP client for tests that must send what an HTTP library would not (odd framing,
// trailers) or read the way a hostile client does (stop reading, then resume). Every read waits on
// the socket with a deadline.
#pragma once

#include <chrono>
#include <string>

namespace llmux::test {

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; `receive_buffer` > 0 shrinks the socket's receive buffer first,
  // so that a client that stops reading pushes back on the server quickly.
  explicit RawConnection(int port, int receive_buffer = 0);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(const std::string& bytes);
  // Reads until `done(received so far)` holds, the peer closes, or the deadline passes.
  template <typename Done>
  const std::string& read_until(Done&& done, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (!done(received_) && !closed_ && read_some(until)) {
    }
    return received_;
  }
  // Reads until the peer closes the connection (true) or the deadline passes (false).
  bool read_until_closed(std::chrono::milliseconds deadline = std::chrono::seconds(10));
  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }

 private:
  bool read_some(std::chrono::steady_clock::time_point until);

  int fd_ = -1;
  std::string received_;
  bool closed_ = false;
};

}  // namespace llmux::test
