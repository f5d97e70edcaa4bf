#include "storage/usage_query.hpp"

#include <charconv>
#include <chrono>

#include "governance/prices.hpp"

namespace llmux::storage {
namespace {

std::optional<int64_t> digits(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  auto ymd = std::chrono::year_month_day{std::chrono::year{static_cast<int>(y)}, std::chrono::month{static_cast<unsigned>(m)},
                                         std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return INT64_MIN;
  return std::chrono::sys_days{ymd}.time_since_epoch().count();
}

void append_totals(std::string& out, const UsageTotals& t, bool with_group) {
  out += '{';
  if (with_group) {
    out += "\"group\":\"";
    for (char c : t.group) {  // groups are ids and dates; escape what JSON requires anyway
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) {
        out += ' ';
        continue;
      }
      out += c;
    }
    out += "\",";
  }
  std::pair<const char*, int64_t> fields[] = {
      {"requests", t.requests},         {"estimated_requests", t.estimated_requests},
      {"failed_requests", t.failed_requests}, {"input_tokens", t.input_tokens},
      {"cached_tokens", t.cached_tokens}, {"cache_write_tokens", t.cache_write_tokens},
      {"output_tokens", t.output_tokens}, {"reasoning_tokens", t.reasoning_tokens},
      {"cost_nano_usd", t.cost_nano_usd}};
  for (auto [name, value] : fields) {
    out += '"';
    out += name;
    out += "\":";
    out += std::to_string(value);
    out += ',';
  }
  out += "\"cost_usd\":";
  governance::append_usd_nanos(out, t.cost_nano_usd);
  out += '}';
}

}  // namespace

Expected<int64_t, std::string> parse_time_point(std::string_view text, int64_t now_ms) {
  if (text == "now") return now_ms;
  if (text.size() >= 2) {
    static constexpr std::pair<char, int64_t> kUnits[] = {
        {'s', 1000}, {'m', 60'000}, {'h', 3'600'000}, {'d', 86'400'000}, {'w', 7 * 86'400'000LL}};
    for (auto [unit, ms] : kUnits)
      if (text.back() == unit)
        if (auto n = digits(text.substr(0, text.size() - 1)); n && *n <= 100'000) return now_ms - *n * ms;
  }
  if (text.size() >= 10 && text[4] == '-' && text[7] == '-') {
    auto y = digits(text.substr(0, 4)), m = digits(text.substr(5, 2)), d = digits(text.substr(8, 2));
    if (y && m && d) {
      int64_t days = days_from_civil(*y, *m, *d);
      if (days != INT64_MIN) {
        int64_t ms = days * 86'400'000;
        std::string_view rest = text.substr(10);
        if (rest.empty()) return ms;
        if (rest.size() == 10 && rest[0] == 'T' && rest[3] == ':' && rest[6] == ':' && rest[9] == 'Z') {
          auto hh = digits(rest.substr(1, 2)), mm = digits(rest.substr(4, 2)), ss = digits(rest.substr(7, 2));
          if (hh && mm && ss && *hh < 24 && *mm < 60 && *ss < 60) return ms + ((*hh * 60 + *mm) * 60 + *ss) * 1000;
        }
      }
    }
  }
  if (auto ms = digits(text); ms && *ms >= 0) return *ms;
  return unexpected("\"" + std::string(text) +
                    "\" is not a time: use a duration ago (7d, 12h, 30m), a UTC date (2026-12-01), "
                    "2026-12-01T10:00:00Z or Unix milliseconds");
}

Expected<UsageQuery, std::string> parse_usage_query(std::string_view since, std::string_view until, std::string_view by,
                                                    int64_t now_ms) {
  UsageQuery q;
  if (!since.empty()) {
    auto t = parse_time_point(since, now_ms);
    if (!t) return unexpected("since: " + t.error());
    q.since_ms = *t;
  }
  if (!until.empty()) {
    auto t = parse_time_point(until, now_ms);
    if (!t) return unexpected("until: " + t.error());
    q.until_ms = *t;
  }
  if (by.empty() || by == "none") q.by = UsageGrouping::none;
  else if (by == "provider") q.by = UsageGrouping::provider;
  else if (by == "model") q.by = UsageGrouping::model;
  else if (by == "key") q.by = UsageGrouping::key;
  else if (by == "day") q.by = UsageGrouping::day;
  else return unexpected("by: \"" + std::string(by) + "\" is not a grouping: use provider, model, key or day");
  return q;
}

std::string_view grouping_name(UsageGrouping by) {
  switch (by) {
    case UsageGrouping::provider: return "provider";
    case UsageGrouping::model: return "model";
    case UsageGrouping::key: return "key";
    case UsageGrouping::day: return "day";
    case UsageGrouping::none: break;
  }
  return "none";
}

std::string usage_report_json(const UsageQuery& query, const UsageReport& report) {
  std::string out = "{\"since\":";
  out += query.since_ms ? std::to_string(*query.since_ms) : "null";
  out += ",\"until\":";
  out += query.until_ms ? std::to_string(*query.until_ms) : "null";
  out += ",\"by\":\"";
  out += grouping_name(query.by);
  out += "\",\"groups\":[";
  for (size_t i = 0; i < report.groups.size(); ++i) {
    if (i) out += ',';
    append_totals(out, report.groups[i], true);
  }
  out += "],\"total\":";
  append_totals(out, report.total, false);
  out += '}';
  return out;
}

std::string query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    std::string value;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') value += ' ';
      else if (raw[i] == '%' && i + 2 < raw.size()) {
        int byte = 0;
        auto [end, ec] = std::from_chars(raw.data() + i + 1, raw.data() + i + 3, byte, 16);
        if (ec == std::errc() && end == raw.data() + i + 3) {
          value += static_cast<char>(byte);
          i += 2;
        } else {
          value += '%';
        }
      } else value += raw[i];
    }
    return value;
  }
  return {};
}

}  // namespace llmux::storage
