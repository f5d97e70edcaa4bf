// Google service-account credentials for Vertex AI: the key file, the RS256-signed JWT assertion
// (RFC 7523) and the OAuth access token it is exchanged for at the key's token_uri.
//
// AccessTokenSource keeps one provider's token fresh on a thread of its own. Requests only read
// the token in memory and never wait for the network: a worker thread of the gateway must never
// block on I/O, and the token endpoint is one more upstream that can be slow. Only that thread
// asks the token endpoint, so there is never more than one refresh in flight (single flight),
// however many requests find the token due. It refreshes well before expiry, so requests keep
// using the old token while a refresh runs; a request that finds no valid token (the first one
// still on its way, or every refresh failing) fails at once with a retryable 503 that names the
// token_uri and the last failure, and wakes the thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "llmux/error.hpp"
#include "llmux/expected.hpp"
#include "llmux/secret.hpp"

namespace llmux::providers::vertex {

inline constexpr std::string_view kCloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";
inline constexpr std::string_view kJwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
inline constexpr std::string_view kDefaultTokenUri = "https://oauth2.googleapis.com/token";
inline constexpr std::chrono::seconds kAssertionLifetime{3600};

struct ServiceAccountKey {
  std::string client_email;
  std::string private_key_id;
  Secret private_key;  // PEM (PKCS#8 "BEGIN PRIVATE KEY")
  std::string token_uri;
  std::string project_id;
};

// Reads a service-account JSON key file ("type": "service_account"). Errors name the path and the
// missing field, never the key.
Expected<ServiceAccountKey, std::string> read_service_account_key(const std::string& path);
Expected<ServiceAccountKey, std::string> parse_service_account_key(std::string_view json, std::string_view origin);

// base64url without padding (RFC 7515 §2).
std::string base64url(std::string_view bytes);

// header.claims.signature: {"alg":"RS256","typ":"JWT","kid":private_key_id} and
// {"iss","scope","aud":token_uri,"iat","exp":iat+3600}, signed with the key (SHA-256, PKCS#1 v1.5).
Expected<std::string, std::string> signed_assertion(const ServiceAccountKey& key, std::chrono::system_clock::time_point now);

// The token request's form body: grant_type=…&assertion=….
std::string token_request_body(std::string_view assertion);

struct FetchedToken {
  Secret access_token;
  std::chrono::seconds expires_in{0};
};

// {"access_token":"…","expires_in":3599,"token_type":"Bearer"}; an OAuth error body
// ({"error":"invalid_grant","error_description":"…"}) becomes its description.
Expected<FetchedToken, std::string> parse_token_response(int status, std::string_view body);

// POSTs a fresh assertion to the key's token_uri and reads the answer. Blocks; `stop` is checked
// while the transfer runs so a stopping provider does not wait for a slow endpoint.
Expected<FetchedToken, std::string> fetch_access_token(const ServiceAccountKey& key, std::chrono::milliseconds timeout,
                                                       const std::atomic<bool>& stop);

// A token in use: its ready-made header line, and when it stops being used.
struct AccessToken {
  std::string header_line;  // "Authorization: Bearer …"
  std::chrono::steady_clock::time_point expires;
};

class AccessTokenSource {
 public:
  // Runs on the source's thread; `stop` becomes true when the source is being destroyed.
  using Fetch = std::function<Expected<FetchedToken, std::string>(const std::atomic<bool>& stop)>;
  // The token is used until this long before it expires (half its lifetime for short ones).
  static constexpr std::chrono::seconds kRefreshEarly{300};
  // After a failed fetch, the next one waits this long, doubling up to kMaxRetryWait.
  static constexpr std::chrono::milliseconds kFirstRetryWait{500};
  static constexpr std::chrono::milliseconds kMaxRetryWait{30000};

  AccessTokenSource(std::string provider_id, std::string token_uri, Fetch fetch);
  ~AccessTokenSource();
  AccessTokenSource(const AccessTokenSource&) = delete;
  AccessTokenSource& operator=(const AccessTokenSource&) = delete;

  // The token to send now; never blocks on I/O. Without a valid one: a 503 naming the provider
  // and the token_uri (retryable, Retry-After 1), and the thread is asked to fetch.
  Expected<std::shared_ptr<const AccessToken>, Error> current();

  // Waits (blocking, so never on a request thread) until the first fetch has succeeded or failed,
  // or `limit` has passed; true when a token is there. For start-up and one-shot tools.
  bool wait_first(std::chrono::milliseconds limit);

  // Token requests made so far (for tests and `provider info`).
  uint64_t fetches() const;

  // When the token in use is dropped and refreshed before its expiry (exposed for tests).
  static std::chrono::steady_clock::duration use_for(std::chrono::seconds lifetime);

 private:
  void run();

  const std::string provider_id_;
  const std::string token_uri_;
  const Fetch fetch_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<const AccessToken> token_;
  std::string last_failure_;
  bool first_done_ = false;
  bool asked_ = false;  // a request found no valid token
  std::atomic<bool> stop_{false};
  uint64_t fetches_ = 0;
  std::thread thread_;  // last: starts once everything above is set
};

}  // namespace llmux::providers::vertex
