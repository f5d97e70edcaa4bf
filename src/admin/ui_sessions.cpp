#include "admin/ui_sessions.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>

#include "core/text.hpp"

namespace llmux::admin {

namespace {

std::string sha256(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string hex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

bool equal_digests(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string last4(std::string_view key) { return std::string(key.substr(key.size() > 4 ? key.size() - 4 : 0)); }

}  // namespace

bool same_origin(std::string_view origin, std::string_view host, bool tls) {
  std::string_view scheme = tls ? "https://" : "http://";
  if (host.empty() || !istarts_with(origin, scheme)) return false;
  return iequals(origin.substr(scheme.size()), host);
}

std::optional<std::string> UiSessions::open(std::string_view admin_key, Clock::time_point now) {
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) return std::nullopt;
  std::string token = hex(random, sizeof random);
  Session session{sha256(admin_key), last4(admin_key), now + kLifetime, 0};
  std::lock_guard lock(mutex_);
  std::erase_if(sessions_, [&](const auto& entry) { return entry.second.expires <= now; });
  if (sessions_.size() >= kMaxSessions) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
      return a.second.serial < b.second.serial;
    });
    sessions_.erase(oldest);
  }
  session.serial = next_serial_++;
  sessions_.emplace(sha256(token), std::move(session));
  return token;
}

bool UiSessions::valid(std::string_view cookie_header, std::string_view admin_key, std::string* admin_id,
                       Clock::time_point now) const {
  std::string_view token = cookie_value(cookie_header, kSessionCookie);
  if (token.size() != 64 || admin_key.empty()) return false;
  std::string token_digest = sha256(token);
  std::string key_digest = sha256(admin_key);
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(token_digest);
  if (it == sessions_.end() || it->second.expires <= now || !equal_digests(it->second.key_digest, key_digest))
    return false;
  if (admin_id) *admin_id = "session …" + it->second.key_last4;
  return true;
}

UiSessions::ApiAuth UiSessions::check_api(const ApiRequest& request, std::string_view admin_key,
                                          std::string* admin_id) const {
  if (!valid(request.cookie, admin_key, admin_id)) return ApiAuth::none;
  if (request.write && !same_origin(request.origin, request.host, request.tls)) return ApiAuth::cross_origin;
  return ApiAuth::admitted;
}

void UiSessions::close(std::string_view cookie_header) {
  std::string_view token = cookie_value(cookie_header, kSessionCookie);
  if (token.empty()) return;
  std::string digest = sha256(token);
  std::lock_guard lock(mutex_);
  sessions_.erase(digest);
}

size_t UiSessions::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::string UiSessions::set_cookie_line(std::string_view token, bool secure) {
  std::string line = "Set-Cookie: ";
  line += kSessionCookie;
  line += '=';
  line += token;
  line += "; Path=/; HttpOnly; SameSite=Strict; Max-Age=";
  line += std::to_string(std::chrono::seconds(kLifetime).count());
  if (secure) line += "; Secure";
  line += "\r\n";
  return line;
}

std::string UiSessions::clear_cookie_line(bool secure) {
  std::string line = "Set-Cookie: ";
  line += kSessionCookie;
  line += "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";
  if (secure) line += "; Secure";
  line += "\r\n";
  return line;
}

std::string_view UiSessions::cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t end = header.find(';');
    std::string_view pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    while (!pair.empty() && (pair.back() == ' ' || pair.back() == '\t')) pair.remove_suffix(1);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=')
      return pair.substr(name.size() + 1);
  }
  return {};
}

}  // namespace llmux::admin
