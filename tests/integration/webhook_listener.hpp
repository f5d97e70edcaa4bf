// A loopback HTTP server standing in for alerts.webhook in the integration tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace llmux::test {

using namespace std::chrono_literals;

// A loopback HTTP server that takes one POST per connection and answers 204; each wait has a
// deadline (poll), nothing sleeps.
class WebhookListener {
 public:
  WebhookListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("webhook listener: cannot listen");
    port_ = ntohs(addr.sin_port);
  }
  ~WebhookListener() { ::close(fd_); }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  struct Received {
    std::string head;
    std::string body;
  };
  // The next POST, or nullopt at the deadline.
  std::optional<Received> next(std::chrono::milliseconds deadline = 10s) {
    auto until = std::chrono::steady_clock::now() + deadline;
    if (!wait(fd_, until)) return std::nullopt;
    int client = ::accept(fd_, nullptr, nullptr);
    if (client < 0) return std::nullopt;
    std::string data;
    std::optional<Received> out;
    while (wait(client, until)) {
      char buf[4096];
      ssize_t n = ::read(client, buf, sizeof buf);
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
      size_t end = data.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      std::string head = data.substr(0, end);
      size_t length = 0;
      std::string lower = head;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (size_t at = lower.find("content-length:"); at != std::string::npos) length = std::stoul(lower.substr(at + 15));
      if (data.size() < end + 4 + length) continue;
      out = Received{head, data.substr(end + 4, length)};
      static const std::string kAnswer = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!::write(client, kAnswer.data(), kAnswer.size());
      break;
    }
    ::close(client);
    return out;
  }

 private:
  static bool wait(int fd, std::chrono::steady_clock::time_point until) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(left.count())) == 1;
  }
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace llmux::test
