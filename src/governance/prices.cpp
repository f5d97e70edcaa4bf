#include "governance/prices.hpp"

#include <charconv>

namespace llmux::governance {
namespace {

// Appends `value / 10^decimals` as an exact decimal without trailing zeros.
void append_scaled(std::string& out, int64_t value, int decimals) {
  if (value < 0) {
    out += '-';
    value = -value;  // amounts are never INT64_MIN: costs and prices are bounded far below
  }
  int64_t unit = 1;
  for (int i = 0; i < decimals; ++i) unit *= 10;
  char digits[24];
  auto whole = std::to_chars(digits, digits + sizeof digits, value / unit).ptr;
  out.append(digits, static_cast<size_t>(whole - digits));
  int64_t fraction = value % unit;
  if (!fraction) return;
  char frac[24];
  for (int i = decimals - 1; i >= 0; --i) {
    frac[i] = static_cast<char>('0' + fraction % 10);
    fraction /= 10;
  }
  int len = decimals;
  while (len > 0 && frac[len - 1] == '0') --len;
  out += '.';
  out.append(frac, static_cast<size_t>(len));
}

}  // namespace

Expected<int64_t, std::string> parse_price(std::string_view text, int64_t per_tokens) {
  // Decimal mantissa and exponent read exactly: value = mantissa × 10^exponent.
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  __int128 mantissa = 0;
  int exponent = 0, digits = 0, significant = 0;
  bool dot = false;
  size_t i = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') break;
    ++digits;
    if (significant < 30) {  // more digits than this cannot change a value bounded by the maximum
      mantissa = mantissa * 10 + (c - '0');
      if (mantissa) ++significant;
      if (dot) --exponent;
    } else if (!dot) {
      ++exponent;
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    int e = 0;
    auto [end, ec] = std::from_chars(s.data() + i + 1 + (i + 1 < s.size() && s[i + 1] == '+'), s.data() + s.size(), e);
    if (ec != std::errc() || end != s.data() + s.size() || e < -100 || e > 100)
      return unexpected(std::string("expected a number, got \"") + std::string(text) + "\"");
    exponent += e;
    i = s.size();
  }
  if (!digits || i != s.size()) return unexpected(std::string("expected a number, got \"") + std::string(text) + "\"");
  if (negative && mantissa != 0) return unexpected(std::string("must be a number >= 0"));
  // micro-USD per 1M tokens = USD per `per_tokens` × 10^6 × (10^6 / per_tokens).
  exponent += per_tokens == kPerThousand ? 9 : 6;
  for (; exponent > 0; --exponent) {
    mantissa *= 10;
    if (mantissa > kMaxMicroUsdPerMtok) break;
  }
  if (mantissa > kMaxMicroUsdPerMtok) return unexpected(std::string("is above USD 1,000,000 per 1M tokens"));
  for (; exponent < 0 && mantissa; ++exponent) {
    __int128 rest = mantissa % 10;
    mantissa /= 10;
    if (exponent == -1 && rest >= 5) ++mantissa;  // round half up at the last digit dropped
  }
  return static_cast<int64_t>(mantissa);
}

std::string format_price_per_mtok(int64_t micro_usd_per_mtok) {
  std::string out;
  append_scaled(out, micro_usd_per_mtok, 6);
  return out;
}

void append_usd_nanos(std::string& out, int64_t nano_usd) { append_scaled(out, nano_usd, 9); }

std::string format_usd_nanos(int64_t nano_usd) {
  std::string out;
  append_usd_nanos(out, nano_usd);
  return out;
}

}  // namespace llmux::governance
