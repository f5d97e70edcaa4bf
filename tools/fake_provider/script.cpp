#include "script.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include <boost/json/object.hpp>

namespace llmux::fake {
namespace {

enum class Knob {
  latency_ms, status, retry_after, chunks, chunk_interval_ms, reset_after_chunks,
  truncate_after_chunks, hang, malformed, content, usage, early_hints, stream_error, content_size, chunked,
  status_line, header, echo_auth, nesting, unknown
};

constexpr std::array<std::pair<std::string_view, Knob>, 19> kKnobs{{
    {"latency_ms", Knob::latency_ms},
    {"status", Knob::status},
    {"retry_after", Knob::retry_after},
    {"chunks", Knob::chunks},
    {"chunk_interval_ms", Knob::chunk_interval_ms},
    {"reset_after_chunks", Knob::reset_after_chunks},
    {"truncate_after_chunks", Knob::truncate_after_chunks},
    {"hang", Knob::hang},
    {"malformed", Knob::malformed},
    {"content", Knob::content},
    {"usage", Knob::usage},
    {"early_hints", Knob::early_hints},
    {"stream_error", Knob::stream_error},
    {"content_size", Knob::content_size},
    {"chunked", Knob::chunked},
    {"status_line", Knob::status_line},
    {"header", Knob::header},
    {"echo_auth", Knob::echo_auth},
    {"nesting", Knob::nesting},
}};

// Text that becomes part of the response head: control characters would allow header injection.
bool head_safe(std::string_view value) {
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// "Retry-After" -> "retry_after"; "" when too long to be a knob.
std::string_view normalized(std::string_view name, char (&norm)[32]) {
  if (name.size() > sizeof norm) return {};
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    norm[i] = c == '-' ? '_' : (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
  }
  return {norm, name.size()};
}

Knob knob_of(std::string_view name) {
  char norm[32];
  std::string_view key = normalized(name, norm);
  for (auto& [n, k] : kKnobs)
    if (n == key) return k;
  return Knob::unknown;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool set_int(int& field, std::string_view text, long long min, long long max) {
  text = trim(text);
  long long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return false;
  field = int(std::clamp(v, min, max));
  return true;
}

std::optional<bool> to_bool(std::string_view text) {
  text = trim(text);
  auto is = [&](std::string_view w) {
    return std::equal(text.begin(), text.end(), w.begin(), w.end(),
                      [](char a, char b) { return (a | 0x20) == b; });
  };
  if (is("true") || is("1") || is("yes") || is("on")) return true;
  if (is("false") || is("0") || is("no") || is("off") || text.empty()) return false;
  return std::nullopt;
}

bool set_bool(bool& field, std::string_view text) {
  auto b = to_bool(text);
  if (b) field = *b;
  return b.has_value();
}

constexpr long long kMaxMs = 24LL * 3600 * 1000;

}  // namespace

bool Script::set(std::string_view name, std::string_view value) {
  char norm[32];
  if (auto repair = set_repair_knob(normalized(name, norm), value)) return *repair;
  if (auto usage_knob = set_usage_knob(normalized(name, norm), value)) return *usage_knob;
  switch (knob_of(name)) {
    case Knob::latency_ms: return set_int(latency_ms, value, 0, kMaxMs);
    case Knob::chunk_interval_ms: return set_int(chunk_interval_ms, value, 0, kMaxMs);
    case Knob::chunks: return set_int(chunks, value, 0, 100'000);
    case Knob::reset_after_chunks: return set_int(reset_after_chunks, value, -1, 1'000'000);
    case Knob::truncate_after_chunks: return set_int(truncate_after_chunks, value, -1, 1'000'000);
    case Knob::status: {
      int s = 0;
      if (!set_int(s, value, 0, 1000) || (s != 0 && (s < 200 || s > 599))) return false;
      status = s;
      return true;
    }
    case Knob::retry_after:
      value = trim(value);
      if (!head_safe(value)) return false;
      retry_after = value;
      return true;
    case Knob::status_line:
      value = trim(value);
      if (!head_safe(value) || value.size() < 3) return false;
      status_line = value;
      return true;
    case Knob::header:
      value = trim(value);
      if (!head_safe(value) || value.find(':') == std::string_view::npos) return false;
      header = value;
      return true;
    case Knob::echo_auth:
      value = trim(value);
      if (value != "json" && value != "detail" && value != "text" && !value.empty()) return false;
      echo_auth = value;
      return true;
    case Knob::content_size: return set_int(content_size, value, 0, 512 << 20);
    case Knob::chunked: return set_bool(chunked, value);
    case Knob::nesting: return set_int(nesting, value, 0, 1'000'000);
    case Knob::hang: return set_bool(hang, value);
    case Knob::malformed: return set_bool(malformed, value);
    case Knob::early_hints: return set_bool(early_hints, value);
    case Knob::stream_error: return set_bool(stream_error, value);
    case Knob::content: content = std::string(value); return true;
    case Knob::usage: {
      auto b = to_bool(value);
      if (b) usage = *b;
      return b.has_value();
    }
    case Knob::unknown: return set_fault(normalized(name, norm), value);
  }
  return false;
}

// --- stream-repair knobs ---------------------------------------------------------------------

std::optional<bool> Script::set_repair_knob(std::string_view name, std::string_view value) {
  if (name == "first_token_delay_ms") return set_int(first_token_delay_ms, value, 0, kMaxMs);
  if (name == "stall_after_chunks") return set_int(stall_after_chunks, value, -1, 1'000'000);
  if (name == "malformed_event_at") return set_int(malformed_event_at, value, -1, 1'000'000);
  if (name == "bad_text_events_at") return set_int(bad_text_events_at, value, -1, 1'000'000);
  if (name == "no_done") return set_bool(no_done, value);
  if (name == "reject_prefill") return set_bool(reject_prefill, value);
  return std::nullopt;
}

// --- usage and reasoning knobs --------------------------------------------------------------

std::optional<bool> Script::set_usage_knob(std::string_view name, std::string_view value) {
  if (name == "cached_tokens") return set_int(cached_tokens, value, 0, 100'000'000);
  if (name == "cache_write_tokens") return set_int(cache_write_tokens, value, 0, 100'000'000);
  if (name == "reasoning") {
    reasoning = value;
    return true;
  }
  return std::nullopt;
}

void Script::apply(const boost::json::object& fake) {
  for (auto& [key, v] : fake) {
    std::string text;
    if (auto* s = v.if_string()) text = *s;
    else if (auto* b = v.if_bool()) text = *b ? "true" : "false";
    else if (auto* i = v.if_int64()) text = std::to_string(*i);
    else if (auto* u = v.if_uint64()) text = std::to_string(*u);
    else if (auto* d = v.if_double(); d && std::isfinite(*d) && std::fabs(*d) < 1e15)
      text = std::to_string(static_cast<long long>(*d));
    else continue;
    set(key, text);
  }
}

// ---- Stateful faults (the router's fault matrix) ----------------------------------------------

bool Script::set_fault(std::string_view name, std::string_view value) {
  if (name == "fail_first") return set_int(fail_first, value, 0, 1'000'000);
  if (name == "down_for_ms") return set_int(down_for_ms, value, 0, kMaxMs);
  if (name == "reset_before_headers") return set_bool(reset_before_headers, value);
  value = trim(value);
  if (!head_safe(value)) return false;
  if (name == "fail_retry_after") {
    fail_retry_after = value;
    return true;
  }
  if (name == "fault_key") {
    fault_key = value;
    return true;
  }
  if (name == "error_code") {
    error_code = value;
    return true;
  }
  if (name == "fail_with") {
    int s = 0;
    bool status = set_int(s, value, 0, 1000) && s >= 400 && s <= 599;
    if (!status && value != "reset" && value != "hang") return false;
    fail_with = value;
    return true;
  }
  return false;
}

}  // namespace llmux::fake
