// What an attempt's outcome means for the router: the failure kinds the exchange reports, how
// each is treated (retry here, fall back, answer as is), and how meaningful its error is to the
// client when every attempt failed.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "llmux/error.hpp"
#include "router/clock.hpp"

namespace llmux::router {

enum class FailureKind : uint8_t {
  none,                  // success: the answer (or the first content event) arrived
  connect,               // could not connect: nothing reached the provider
  reset_before_headers,  // connection closed or reset before the response headers
  headers_timeout,       // no response headers within the limit
  first_token_timeout,   // headers came, no content event within the limit
  status,                // an HTTP error status (status, error_code, error_message)
  error_event,           // an error event before any content (Anthropic `error`, OpenAI error chunk)
  malformed,             // an unparseable answer before anything reached the client
  cancelled,             // the client left or the gateway is shutting down: no decision
};

struct AttemptOutcome {
  FailureKind kind = FailureKind::none;
  int status = 0;                  // HTTP status; for error_event the status it stands for, if known
  std::string_view error_code;     // the provider's error code or type (Error::code)
  std::string_view error_message;  // for providers that say it only in words
  std::string_view retry_after;    // Retry-After as received: seconds or an HTTP date
  std::chrono::microseconds first_token{0};  // success: request sent -> first content

  static AttemptOutcome success(std::chrono::microseconds first_token = {}) {
    return {FailureKind::none, 200, {}, {}, {}, first_token};
  }
  static AttemptOutcome failure(FailureKind kind) { return {kind}; }
  static AttemptOutcome http_error(int status, std::string_view code = {}, std::string_view message = {},
                                   std::string_view retry_after = {}) {
    return {FailureKind::status, status, code, message, retry_after};
  }
  // From the Error the provider decoded for an error status (decode_error).
  static AttemptOutcome from_error(const Error& e, std::string_view retry_after) {
    return {FailureKind::status, e.upstream_status ? e.upstream_status : e.http_status, e.code, e.message,
            retry_after};
  }
};

enum class Treatment : uint8_t {
  success,
  transient,            // retry on this deployment (backoff / Retry-After), then fall back
  unavailable,          // fall back at once: timed out waiting, or a 5xx that is not worth repeating
  request_rejected,     // 400/413/422 about the request: fall back, never repeat here
  deployment_rejected,  // 401/403/404/other 4xx: this deployment cannot serve it; fall back
  context_exceeded,     // fall back to a larger context window
  content_policy,       // the answer, unless the model's chain says to fail over
  cancelled,
};

Treatment classify(const AttemptOutcome& outcome) noexcept;
const char* treatment_name(Treatment t) noexcept;

// Counts against the deployment's circuit breaker (it says nothing about the request).
bool is_breaker_failure(const AttemptOutcome& outcome, Treatment t) noexcept;

// Short outcome for x-llmux-attempts: "200", "503", "connect", "reset", "timeout", "ttft",
// "error", "malformed", "cancelled".
std::string_view outcome_code(const AttemptOutcome& outcome, char (&buffer)[8]) noexcept;

// How much an attempt's error tells the client, when every attempt failed; the highest is
// reported, the later one on a tie ("last meaningful error"):
//   5 content policy rejection            (the provider's verdict on the content)
//   4 the first deployment's rejection of the request (400/413/422, context length)
//   3 availability: 429, 5xx, 529, timeouts, connect/reset, malformed answers
//   2 a deployment that cannot serve it (401/403/404, other 4xx): a gateway setup problem
//   1 a fallback's rejection of the request (its 400 must not mask the primary's 503)
int error_rank(Treatment t, bool first_deployment) noexcept;

// Retry-After: delta-seconds, or an HTTP date (IMF-fixdate, RFC 850, asctime) relative to `now`.
// A date in the past is 0; nullopt when absent or unreadable.
std::optional<Millis> parse_retry_after(std::string_view value, WallTime now) noexcept;

}  // namespace llmux::router
