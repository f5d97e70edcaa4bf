// The dashboard's login sessions: POST /ui/login with the admin key hands out a random token in
// the `llmux_session` cookie (HttpOnly, SameSite=Strict); the token lives only in this process's
// memory, so a restart logs everyone out. A session is bound to the admin key that opened it:
// when the key changes (config reload, another LLMUX_ADMIN_KEY) its sessions stop opening /api and
// /ui, and nothing else has to revoke them.
//
// Thread-safety: every member may be called from any thread (workers and admin threads).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace llmux::admin {

inline constexpr std::string_view kSessionCookie = "llmux_session";

// True when `origin` (an Origin header) names this server as the client reached it (`host`, the
// Host header, over http or https).
bool same_origin(std::string_view origin, std::string_view host, bool tls);

class UiSessions {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::hours kLifetime{12};
  static constexpr size_t kMaxSessions = 256;  // the oldest goes first when more log in

  // A new session for the holder of `admin_key`; answers the token for the cookie (64 hex digits),
  // or nothing when the system has no randomness to make one.
  std::optional<std::string> open(std::string_view admin_key, Clock::time_point now = Clock::now());

  // True when the request's Cookie header carries a live session opened with `admin_key`; then
  // *admin_id (if given) is the audit log's name for it, "session …<last 4 of the key>".
  bool valid(std::string_view cookie_header, std::string_view admin_key, std::string* admin_id = nullptr,
             Clock::time_point now = Clock::now()) const;

  // The session cookie as admin auth on /api/*: a write (not GET/HEAD) must also come from this
  // server's own origin, since SameSite=Strict does not tell apart two ports of one host.
  enum class ApiAuth { none, admitted, cross_origin };
  struct ApiRequest {
    std::string_view cookie, origin, host;
    bool write = false;
    bool tls = false;
  };
  ApiAuth check_api(const ApiRequest& request, std::string_view admin_key, std::string* admin_id) const;

  // Ends the session the Cookie header names, if any (logout).
  void close(std::string_view cookie_header);

  size_t size() const;

  // The Set-Cookie header lines (each ending in "\r\n") that install / clear the cookie.
  static std::string set_cookie_line(std::string_view token, bool secure);
  static std::string clear_cookie_line(bool secure);

  // The value of `name` in a Cookie header ("a=1; llmux_session=…"); "" when absent.
  static std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

 private:
  struct Session {
    std::string key_digest;  // SHA-256 of the admin key that opened it
    std::string key_last4;
    Clock::time_point expires;
    uint64_t serial = 0;     // opening order, for eviction
  };
  // Keyed by the SHA-256 of the token, so a lookup's timing says nothing about a valid token.
  std::unordered_map<std::string, Session> sessions_;
  mutable std::mutex mutex_;
  uint64_t next_serial_ = 0;
};

}  // namespace llmux::admin
