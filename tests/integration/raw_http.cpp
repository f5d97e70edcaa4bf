#include "raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace llmux::test {

namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}
}  // namespace

std::string RawResponse::header(const std::string& name) const {
  std::string want = lower(name) + ":";
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos + 2 < head.size()) {
    size_t end = head.find("\r\n", pos + 2);
    if (end == std::string::npos) break;
    std::string line = head.substr(pos + 2, end - pos - 2);
    if (lower(line).rfind(want, 0) == 0) {
      std::string value = line.substr(want.size());
      while (!value.empty() && value.front() == ' ') value.erase(value.begin());
      return value;
    }
    pos = end;
  }
  return {};
}

RawConnection::RawConnection(int port, int receive_buffer) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) close();
}

RawConnection::~RawConnection() { close(); }

void RawConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawConnection::send(const std::string& bytes) {
  size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return fd_ >= 0;
}

bool RawConnection::fill(std::chrono::steady_clock::time_point until) {
  if (fd_ < 0 || eof_) return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char chunk[16384];
  ssize_t n = ::read(fd_, chunk, sizeof chunk);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

std::string RawConnection::read_until_text(const std::string& needle, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (buffer_.find(needle) == std::string::npos)
    if (!fill(until)) break;
  return std::exchange(buffer_, {});
}

bool RawConnection::wait_closed(std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (fill(until)) {
  }
  return eof_;
}

RawResponse RawConnection::read_response(std::chrono::milliseconds deadline, bool head_request) {
  RawResponse r;
  auto until = std::chrono::steady_clock::now() + deadline;
  size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(until)) {
      r.closed = eof_;
      return r;
    }
  r.head = buffer_.substr(0, head_end + 4);
  buffer_.erase(0, head_end + 4);
  if (r.head.size() > 12) r.status = std::atoi(r.head.c_str() + 9);
  bool interim = r.status >= 100 && r.status < 200;
  std::string length = r.header("content-length");
  if (head_request || interim || r.status == 204 || r.status == 304) {
    r.complete = true;
  } else if (!length.empty()) {
    size_t n = std::stoul(length);
    while (buffer_.size() < n)
      if (!fill(until)) break;
    if (buffer_.size() >= n) {
      r.body = buffer_.substr(0, n);
      buffer_.erase(0, n);
      r.complete = true;
    }
  } else if (lower(r.header("transfer-encoding")) == "chunked") {
    while (true) {
      size_t line_end;
      while ((line_end = buffer_.find("\r\n")) == std::string::npos)
        if (!fill(until)) return r;
      size_t size = std::stoul(buffer_.substr(0, line_end), nullptr, 16);
      while (buffer_.size() < line_end + 2 + size + 2)
        if (!fill(until)) return r;
      r.body += buffer_.substr(line_end + 2, size);
      buffer_.erase(0, line_end + 2 + size + 2);
      if (size == 0) break;
    }
    r.complete = true;
  } else {  // delimited by the close
    while (fill(until)) {
    }
    r.body = std::move(buffer_);
    buffer_.clear();
    r.complete = eof_;
  }
  if (!r.complete) r.closed = eof_;
  else if (lower(r.header("connection")) == "close") r.closed = wait_closed(deadline);
  return r;
}

std::string raw_post(const std::string& path, const std::string& body, const std::string& extra_headers,
                     const std::string& version) {
  return "POST " + path + " " + version + "\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

}  // namespace llmux::test
