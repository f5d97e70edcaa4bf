// Prices: the units of every spelling, exact integers, and one price given twice.
#include <gtest/gtest.h>

#include "config_test_util.hpp"
#include "governance/prices.hpp"

namespace llmux {
namespace {

using config_test::load_errors;
using config_test::load_ok;
using governance::kPerMillion;
using governance::kPerThousand;
using governance::parse_price;

constexpr int64_t kUsd = 1'000'000;  // micro-USD per 1M tokens in USD 1 per 1M tokens

TEST(Prices, TheSeedsListStylePricingIsPerThousandTokens) {
  // The seeds' Together entry, as written there: Together's list price is $0.60 per 1M tokens.
  auto config = load_ok(R"({"providers": [{"id": "together", "baseUrl": "https://api.together.xyz/v1",
    "models": [{"id": "mistralai/Mixtral-8x7B-Instruct-v0.1", "name": "Mixtral 8x7B Instruct",
                "contextWindow": 32768, "pricing": { "input": 0.0006, "output": 0.0006 }}]}]})");
  ASSERT_EQ(config.providers.size(), 1u);
  const auto& prices = config.providers[0].models[0].prices;
  EXPECT_EQ(prices.input, 600'000);  // $0.60 per 1M, not $0.0006 per 1M (600)
  EXPECT_EQ(prices.output, 600'000);
  EXPECT_EQ(governance::format_price_per_mtok(prices.input), "0.6");
}

TEST(Prices, ExplicitUnitKeysAreReadInBothShapes) {
  auto map_style = load_ok(R"(providers:
  lab:
    base_url: http://h
    models:
      - id: m
        pricing: {input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.3,
                  cache_write_per_mtok: 3.75, reasoning_per_mtok: 20}
)");
  auto list_flat = load_ok(R"({"providers": [{"id": "lab", "baseUrl": "http://h", "models": [{"id": "m",
    "inputPerMtok": 3, "outputPerMtok": 15, "cachedInputPerMtok": 0.3, "cacheWritePerMtok": 3.75,
    "reasoningPerMtok": 20}]}]})");
  for (const auto* config : {&map_style, &list_flat}) {
    ASSERT_EQ(config->providers.size(), 1u);
    const auto& p = config->providers[0].models[0].prices;
    EXPECT_EQ(p.input, 3 * kUsd);
    EXPECT_EQ(p.output, 15 * kUsd);
    EXPECT_EQ(p.cached_input, 300'000);
    EXPECT_EQ(p.cache_write, 3'750'000);
    EXPECT_EQ(p.reasoning, 20 * kUsd);
  }
  // Unset kinds stay unset: they fall back to the input / output price when costing.
  auto plain = load_ok("providers: [{id: p, base_url: 'http://h', models: [{id: m, pricing: {input: 0.001}}]}]");
  EXPECT_EQ(plain.providers[0].models[0].prices.input, kUsd);
  EXPECT_FALSE(plain.providers[0].models[0].prices.cached_input);
}

TEST(Prices, OnePriceInTwoSpellingsIsAnErrorNamingBoth) {
  EXPECT_EQ(load_errors("providers: [{id: p, base_url: 'http://h', models: [{id: m,"
                        " pricing: {input: 0.001, input_per_mtok: 1}}]}]"),
            std::vector<std::string>{"cfg.yaml:1:100: providers[0].models[0].pricing.input_per_mtok: the input price "
                                     "is given twice: as pricing.input (USD per 1K tokens) and as "
                                     "pricing.input_per_mtok (USD per 1M tokens); keep one"});
  EXPECT_EQ(load_errors("providers: [{id: p, base_url: 'http://h', models: [{id: m, output_price: 1,"
                        " output_per_mtok: 2}]}]"),
            std::vector<std::string>{"cfg.yaml:1:94: providers[0].models[0].output_per_mtok: the output price "
                                     "is given twice: as output_price (USD per 1K tokens) and as "
                                     "output_per_mtok (USD per 1M tokens); keep one"});
  EXPECT_EQ(load_errors("providers: [{id: p, base_url: 'http://h', models: [{id: m,"
                        " reasoning_per_mtok: 1, pricing: {reasoning_per_mtok: 2}}]}]"),
            std::vector<std::string>{"cfg.yaml:1:80: providers[0].models[0].reasoning_per_mtok: the reasoning "
                                     "price is given twice: as pricing.reasoning_per_mtok (USD per 1M tokens) and "
                                     "as reasoning_per_mtok (USD per 1M tokens); keep one"});
}

TEST(Prices, BadPricesAreErrorsAtTheirKey) {
  EXPECT_EQ(load_errors("providers: [{id: p, base_url: 'http://h', models: [{id: m, pricing: {input: cheap}}]}]"),
            std::vector<std::string>{"cfg.yaml:1:77: providers[0].models[0].pricing.input: expected a number, got "
                                     "\"cheap\""});
  EXPECT_EQ(load_errors("providers: [{id: p, base_url: 'http://h', models: [{id: m, cache_write_per_mtok: -1}]}]"),
            std::vector<std::string>{"cfg.yaml:1:82: providers[0].models[0].cache_write_per_mtok: must be a number "
                                     ">= 0"});
}

TEST(Prices, DecimalTextIsConvertedExactly) {
  // 0.1 + 0.2 style inputs: the decimal text is scaled, never a binary float multiplied.
  EXPECT_EQ(*parse_price("0.0006", kPerThousand), 600'000);
  EXPECT_EQ(*parse_price("6e-4", kPerThousand), 600'000);
  EXPECT_EQ(*parse_price("0.6E+0", kPerMillion), 600'000);
  EXPECT_EQ(*parse_price("0.15", kPerMillion), 150'000);
  EXPECT_EQ(*parse_price("0.000003", kPerThousand), 3'000);  // $0.003 per 1M
  EXPECT_EQ(*parse_price("2", kPerMillion), 2 * kUsd);
  EXPECT_EQ(*parse_price("0.0000005", kPerMillion), 1);  // below the unit: rounded half up
  EXPECT_EQ(*parse_price("0.0000004", kPerMillion), 0);
  EXPECT_EQ(*parse_price("1000000", kPerMillion), governance::kMaxMicroUsdPerMtok);
  EXPECT_FALSE(parse_price("1000001", kPerMillion));
  EXPECT_FALSE(parse_price("-0.1", kPerMillion));
  EXPECT_FALSE(parse_price("1.2.3", kPerMillion));
  EXPECT_FALSE(parse_price("", kPerMillion));
  EXPECT_FALSE(parse_price("1e", kPerMillion));
}

TEST(Prices, AmountsAreWrittenAsExactDecimals) {
  EXPECT_EQ(governance::format_usd_nanos(0), "0");
  EXPECT_EQ(governance::format_usd_nanos(8'400), "0.0000084");
  EXPECT_EQ(governance::format_usd_nanos(1'000'000'000), "1");
  EXPECT_EQ(governance::format_usd_nanos(12'345'678'901), "12.345678901");
  EXPECT_EQ(governance::format_price_per_mtok(3'750'000), "3.75");
}

}  // namespace
}  // namespace llmux
