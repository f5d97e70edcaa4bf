#include "http/upstream_guard.hpp"

#include <curl/curl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <mutex>

namespace llmux::http {

namespace {

struct Installed {
  UpstreamGuardConfig config;
  UpstreamPolicy policy;
};

std::mutex& guard_mutex() {
  static std::mutex m;
  return m;
}

// Read once per new connection (not per request); the mutex is held only to copy the pointer.
std::shared_ptr<const Installed>& installed_locked() {
  static std::shared_ptr<const Installed> current = std::make_shared<const Installed>();
  return current;
}

std::shared_ptr<const Installed> installed() {
  std::lock_guard lock(guard_mutex());
  return installed_locked();
}

std::optional<IpAddress> address_of(const sockaddr* address) {
  if (!address) return std::nullopt;
  IpAddress a;
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    std::memcpy(a.bytes.data(), &in->sin_addr, 4);
    return a;
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    std::memcpy(a.bytes.data(), &in6->sin6_addr, 16);
    a.v6 = true;
    return a;
  }
  return std::nullopt;
}

curl_socket_t open_guarded_socket(void* userp, curlsocktype, curl_sockaddr* address) {
  auto* guard = static_cast<CurlGuard*>(userp);
  if (auto why = refuse_connection(guard->host, &address->addr)) {
    guard->refused = std::move(*why);
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

}  // namespace

void set_upstream_guard(const UpstreamGuardConfig& config) {
  auto policy = UpstreamPolicy::compile(config);
  if (!policy) return;
  auto next = std::make_shared<const Installed>(Installed{config, std::move(*policy)});
  std::lock_guard lock(guard_mutex());
  installed_locked() = std::move(next);
}

UpstreamGuardConfig upstream_guard_config() { return installed()->config; }

std::optional<std::string> refuse_connection(std::string_view host, const sockaddr* address) {
  auto ip = address_of(address);
  if (!ip) return std::nullopt;
  return installed()->policy.refuse_address(host, *ip);
}

void guard_curl_handle(void* easy, CurlGuard& guard) {
  curl_easy_setopt(static_cast<CURL*>(easy), CURLOPT_OPENSOCKETFUNCTION, &open_guarded_socket);
  curl_easy_setopt(static_cast<CURL*>(easy), CURLOPT_OPENSOCKETDATA, &guard);
}

}  // namespace llmux::http
