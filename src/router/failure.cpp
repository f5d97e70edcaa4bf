#include "router/failure.hpp"

#include <charconv>
#include <cstring>
#include <ctime>

#include "core/text.hpp"

namespace llmux::router {

namespace {

bool contains_icase(std::string_view text, std::string_view needle) noexcept {
  if (needle.size() > text.size()) return false;
  for (size_t i = 0; i + needle.size() <= text.size(); ++i)
    if (istarts_with(text.substr(i), needle)) return true;
  return false;
}

bool is_context_length(const AttemptOutcome& o) noexcept {
  if (o.error_code == "context_length_exceeded" || o.error_code == "string_above_max_length") return true;
  // Anthropic and several open servers say it only in the message.
  for (std::string_view words : {"context length", "context_length", "context window", "prompt is too long",
                                 "maximum context", "too many tokens"})
    if (contains_icase(o.error_message, words)) return true;
  return false;
}

bool is_content_policy(const AttemptOutcome& o) noexcept {
  return o.error_code == "content_policy_violation" || o.error_code == "content_filter" ||
         o.error_code == "content_policy";
}

Treatment classify_status(const AttemptOutcome& o) noexcept {
  int s = o.status;
  if (is_content_policy(o)) return Treatment::content_policy;
  switch (s) {
    case 408: case 429: case 500: case 502: case 503: case 504: case 529: return Treatment::transient;
    default: break;
  }
  if (s == 400 || s == 413 || s == 422) return is_context_length(o) ? Treatment::context_exceeded : Treatment::request_rejected;
  if (s >= 500) return s == 501 ? Treatment::deployment_rejected : Treatment::unavailable;
  if (s >= 400) return Treatment::deployment_rejected;
  return Treatment::unavailable;  // 1xx/3xx as a final answer: nothing usable
}

}  // namespace

Treatment classify(const AttemptOutcome& o) noexcept {
  switch (o.kind) {
    case FailureKind::none: return Treatment::success;
    case FailureKind::connect:
    case FailureKind::reset_before_headers:
    case FailureKind::malformed: return Treatment::transient;
    case FailureKind::headers_timeout:
    case FailureKind::first_token_timeout: return Treatment::unavailable;
    case FailureKind::status: return classify_status(o);
    case FailureKind::error_event:
      // An error event names no status when the provider gave none (Anthropic's overloaded_error
      // maps to 529, api_error to 500): treat it as the transient failure it usually is.
      if (o.status == 0) return is_content_policy(o) ? Treatment::content_policy : Treatment::transient;
      return classify_status(o);
    case FailureKind::cancelled: return Treatment::cancelled;
  }
  return Treatment::unavailable;
}

const char* treatment_name(Treatment t) noexcept {
  switch (t) {
    case Treatment::success: return "success";
    case Treatment::transient: return "transient";
    case Treatment::unavailable: return "unavailable";
    case Treatment::request_rejected: return "request_rejected";
    case Treatment::deployment_rejected: return "deployment_rejected";
    case Treatment::context_exceeded: return "context_exceeded";
    case Treatment::content_policy: return "content_policy";
    case Treatment::cancelled: return "cancelled";
  }
  return "unknown";
}

bool is_breaker_failure(const AttemptOutcome& o, Treatment t) noexcept {
  if (t == Treatment::transient || t == Treatment::unavailable) return true;
  // A rejected credential fails every request sent there.
  return t == Treatment::deployment_rejected && (o.status == 401 || o.status == 403);
}

std::string_view outcome_code(const AttemptOutcome& o, char (&buffer)[8]) noexcept {
  switch (o.kind) {
    case FailureKind::connect: return "connect";
    case FailureKind::reset_before_headers: return "reset";
    case FailureKind::headers_timeout: return "timeout";
    case FailureKind::first_token_timeout: return "ttft";
    case FailureKind::malformed: return "malformed";
    case FailureKind::cancelled: return "cancelled";
    case FailureKind::error_event:
      if (o.status == 0) return "error";
      break;
    case FailureKind::none:
    case FailureKind::status: break;
  }
  int status = o.status ? o.status : 200;
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, status);
  return ec == std::errc() ? std::string_view(buffer, static_cast<size_t>(end - buffer)) : "?";
}

int error_rank(Treatment t, bool first_deployment) noexcept {
  switch (t) {
    case Treatment::content_policy: return 5;
    case Treatment::request_rejected:
    case Treatment::context_exceeded: return first_deployment ? 4 : 1;
    case Treatment::transient:
    case Treatment::unavailable: return 3;
    case Treatment::deployment_rejected: return 2;
    case Treatment::success:
    case Treatment::cancelled: return 0;
  }
  return 0;
}

namespace {

int month_index(std::string_view m) noexcept {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (m == kMonths[i]) return i;
  return -1;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int64_t> parse_http_date(std::string_view v) noexcept {
  // Tokens split on spaces, commas, '-' and ':'.
  std::string_view tokens[9];
  size_t count = 0;
  size_t i = 0;
  while (i < v.size() && count < 9) {
    while (i < v.size() && (v[i] == ' ' || v[i] == ',' || v[i] == '-' || v[i] == ':')) ++i;
    size_t start = i;
    while (i < v.size() && v[i] != ' ' && v[i] != ',' && v[i] != '-' && v[i] != ':') ++i;
    if (i > start) tokens[count++] = v.substr(start, i - start);
  }
  auto num = [](std::string_view t, int& out) {
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return ec == std::errc() && p == t.data() + t.size();
  };
  int day = 0, year = 0, hour = 0, minute = 0, second = 0, month = -1;
  bool ok = false;
  if (count >= 8 && month_index(tokens[2]) >= 0) {
    // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" or RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT".
    month = month_index(tokens[2]);
    ok = num(tokens[1], day) && num(tokens[3], year) && num(tokens[4], hour) && num(tokens[5], minute) &&
         num(tokens[6], second);
    if (ok && tokens[3].size() == 2) year += year < 70 ? 2000 : 1900;
  } else if (count >= 7 && month_index(tokens[1]) >= 0) {
    // asctime "Sun Nov  6 08:49:37 1994".
    month = month_index(tokens[1]);
    ok = num(tokens[2], day) && num(tokens[3], hour) && num(tokens[4], minute) && num(tokens[5], second) &&
         num(tokens[6], year);
  }
  if (!ok || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  return days_from_civil(year, static_cast<unsigned>(month + 1), static_cast<unsigned>(day)) * 86400 +
         hour * 3600 + minute * 60 + second;
}

}  // namespace

std::optional<Millis> parse_retry_after(std::string_view value, WallTime now) noexcept {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    int64_t seconds = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    // Some servers send fractions ("1.5"): round the whole part up rather than reject it.
    bool fraction = ec == std::errc() && p < value.data() + value.size() && *p == '.';
    if (ec != std::errc() || (p != value.data() + value.size() && !fraction)) return std::nullopt;
    seconds = std::min<int64_t>(seconds + (fraction ? 1 : 0), 30 * 86400);
    return Millis(seconds * 1000);
  }
  auto at = parse_http_date(value);
  if (!at) return std::nullopt;
  int64_t now_ms = std::chrono::duration_cast<Millis>(now.time_since_epoch()).count();
  int64_t delta = *at * 1000 - now_ms;
  return Millis(std::clamp<int64_t>(delta, 0, int64_t{30} * 86400 * 1000));
}

}  // namespace llmux::router
