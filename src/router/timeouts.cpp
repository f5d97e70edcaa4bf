#include "router/timeouts.hpp"

#include <algorithm>
#include <charconv>

namespace llmux::router {

AttemptTimeouts attempt_timeouts(const ProviderConfig& p, std::optional<Millis> remaining) {
  AttemptTimeouts t;
  const ProviderTimeouts& c = p.timeouts;
  t.connect = c.connect.value_or(Millis(10000));
  t.headers = c.headers.value_or(p.timeout);
  t.first_token = c.first_token.value_or(t.headers);
  t.idle = c.idle.value_or(p.timeout);
  t.total = c.total;
  if (remaining) {
    Millis left = std::max(*remaining, Millis(1));
    for (Millis* limit : {&t.connect, &t.headers, &t.first_token, &t.idle}) *limit = std::min(*limit, left);
    t.total = t.total ? std::min(*t.total, left) : left;
  }
  return t;
}

Expected<Millis, Error> parse_timeout_header(std::string_view value, const RouterConfig& config) {
  auto bad = [&] {
    return unexpected(Error::make(ErrorKind::invalid_request,
                                  "x-llmux-timeout: invalid value \"" + std::string(value.substr(0, 64)) +
                                      "\" (use e.g. 30s, 1500ms, 2m, or a number of seconds)",
                                  {}, "invalid_timeout"));
  };
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  bool bare = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
  Millis parsed{0};
  if (bare) {
    int64_t seconds = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || seconds > int64_t{720} * 3600) return bad();
    parsed = Millis(seconds * 1000);
  } else {
    auto d = parse_duration(value);
    if (!d) return bad();
    parsed = *d;
  }
  if (parsed.count() <= 0) return bad();
  return std::min(parsed, config.max_request_timeout);
}

std::optional<Millis> request_budget(const RouterConfig& config, std::optional<Millis> header_timeout) {
  std::optional<Millis> budget;
  if (config.total_timeout.count() > 0) budget = config.total_timeout;
  if (header_timeout) budget = budget ? std::min(*budget, *header_timeout) : *header_timeout;
  return budget;
}

}  // namespace llmux::router
