#include "governance/cost.hpp"

#include <algorithm>

namespace llmux::governance {
namespace {

int64_t clamp_part(int64_t part, int64_t whole) noexcept { return std::clamp<int64_t>(part, 0, std::max<int64_t>(whole, 0)); }

}  // namespace

int64_t cost_nano_usd(const json::Usage& u, const ModelPrices& p) noexcept {
  int64_t prompt = std::max<int64_t>(u.prompt_tokens, 0);
  int64_t cached = clamp_part(u.cached_tokens, prompt);
  int64_t cache_write = clamp_part(u.cache_write_tokens, prompt - cached);
  int64_t completion = std::max<int64_t>(u.completion_tokens, 0);
  int64_t reasoning = clamp_part(u.reasoning_tokens, completion);
  // tokens × pico-USD per token; __int128 because absurd upstream counts must not overflow.
  __int128 pico = static_cast<__int128>(prompt - cached - cache_write) * p.input +
                  static_cast<__int128>(cached) * p.cached_input.value_or(p.input) +
                  static_cast<__int128>(cache_write) * p.cache_write.value_or(p.input) +
                  static_cast<__int128>(completion - reasoning) * p.output +
                  static_cast<__int128>(reasoning) * p.reasoning.value_or(p.output);
  __int128 nano = (pico + 500) / 1000;  // rounded once, half up
  constexpr __int128 kMax = INT64_MAX;
  return static_cast<int64_t>(std::min(nano, kMax));
}

// Runs on every event of a passed-through stream, so it only looks where a key ends (`":`, found
// with memchr) and skips each string value with memchr too, instead of walking every byte.
size_t text_bytes_in_json(std::string_view json) noexcept {
  static constexpr std::string_view kKeys[] = {"\"content", "\"text", "\"prompt", "\"input", "\"arguments", "_content"};
  auto blank = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
  size_t total = 0;
  for (size_t pos = json.find("\":"); pos != std::string_view::npos; pos = json.find("\":", pos)) {
    std::string_view key = json.substr(0, pos);
    size_t value = pos + 2;
    while (value < json.size() && blank(json[value])) ++value;
    if (value >= json.size() || json[value] != '"') {
      pos = value;
      continue;
    }
    // The value's closing quote: the first one not escaped by an odd run of backslashes.
    size_t close = value + 1;
    for (;; ++close) {
      close = json.find('"', close);
      if (close == std::string_view::npos) {
        close = json.size();
        break;
      }
      size_t slashes = 0;
      while (json[close - 1 - slashes] == '\\') ++slashes;
      if (slashes % 2 == 0) break;
    }
    for (auto k : kKeys)
      if (key.ends_with(k)) {
        total += close - value - 1;
        break;
      }
    pos = close;
  }
  return total;
}

int64_t estimate_tokens(size_t text_bytes) noexcept { return static_cast<int64_t>((text_bytes + 3) / 4); }

json::Usage billable_usage(const json::Usage& reported, const EstimateBasis& basis) noexcept {
  if (reported.reported) return reported;
  json::Usage u;
  u.prompt_tokens = estimate_tokens(text_bytes_in_json(basis.request_body));
  u.completion_tokens = estimate_tokens(text_bytes_in_json(basis.answer_body) + basis.streamed_text_bytes);
  u.total_tokens = u.prompt_tokens + u.completion_tokens;
  return u;
}

Cost request_cost(const json::Usage& reported, const ModelPrices& prices, const EstimateBasis& basis) noexcept {
  return {cost_nano_usd(billable_usage(reported, basis), prices), !reported.reported};
}

}  // namespace llmux::governance
