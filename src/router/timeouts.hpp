// The limits of one attempt, as the exchange and the transfer engines should enforce them: the
// provider's `timeouts:` (falling back to its `timeout`, which has always meant "response
// headers" and "idle gap between reads"), cut to what is left of the request's deadline.
// Also the x-llmux-timeout request header.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "llmux/expected.hpp"
#include "router/clock.hpp"

namespace llmux::router {

struct AttemptTimeouts {
  Millis connect{10000};
  Millis headers{60000};      // request sent -> response headers
  Millis first_token{60000};  // response headers -> first content event (streams; a plain
                              // answer's body counts as its first content)
  Millis idle{60000};         // between two body reads / stream events
  std::optional<Millis> total;  // the whole attempt; unset = unbounded but for the others
};

// The provider's limits; each is cut to `remaining` (time left of the request's deadline) when
// given, and `total` is set to it.
AttemptTimeouts attempt_timeouts(const ProviderConfig& provider, std::optional<Millis> remaining = std::nullopt);

// x-llmux-timeout: "30s", "1500ms", "2m", or a bare number of seconds (like Retry-After). The
// result is at most router.max_request_timeout; a malformed or zero value is a 400 naming the
// header.
Expected<Millis, Error> parse_timeout_header(std::string_view value, const RouterConfig& config);

// The request's deadline budget: router.total_timeout (0 = none), shortened by the header value.
std::optional<Millis> request_budget(const RouterConfig& config, std::optional<Millis> header_timeout);

}  // namespace llmux::router
