// Token prices and money amounts as exact integers.
//
// A price is held as integer micro-USD per 1M tokens (which is also pico-USD per token): every
// price providers publish (at most 6 decimals per 1M tokens, 9 per 1K) is exact in it, and a
// request's cost (tokens × price) is an integer sum with no float rounding. A cost is held as
// integer nano-USD: one request's cost is rounded once, to the nearest 1e-9 USD, and ledger
// totals are sums of those integers, so a total equals the sum of its rows exactly and the int64
// range (9.2e9 USD) is no practical limit.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "llmux/expected.hpp"

namespace llmux::governance {

inline constexpr int64_t kPerThousand = 1'000;
inline constexpr int64_t kPerMillion = 1'000'000;
// Above this a price is a typo (USD 1M per 1M tokens), and the cost products stay far from int64.
inline constexpr int64_t kMaxMicroUsdPerMtok = 1'000'000LL * 1'000'000LL;

// A decimal text ("0.0006", "6e-4", "2") in USD per `per_tokens` tokens (kPerThousand or
// kPerMillion) in micro-USD per 1M tokens, rounded to the nearest unit. The error says why
// (not a number, negative, too large) without naming the key; the caller adds where.
Expected<int64_t, std::string> parse_price(std::string_view text, int64_t per_tokens);

// Exact decimal USD text of a price: "0.6" for 600000 micro-USD per 1M tokens.
std::string format_price_per_mtok(int64_t micro_usd_per_mtok);
// Exact decimal USD text of an amount in nano-USD, without trailing zeros: "0.000123", "0".
std::string format_usd_nanos(int64_t nano_usd);
void append_usd_nanos(std::string& out, int64_t nano_usd);

}  // namespace llmux::governance
