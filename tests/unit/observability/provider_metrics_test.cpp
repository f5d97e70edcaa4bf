#include "observability/provider_metrics.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <thread>

namespace llmux::observability {
namespace {

using namespace std::chrono_literals;

router::SteadyTime at(std::chrono::milliseconds ms) { return router::SteadyTime(ms); }

TEST(LatencyHistogram, BoundsAreLogSpacedTwoPerOctave) {
  EXPECT_EQ(kLatencyBoundsUs.front(), 250);
  for (size_t i = 2; i < kLatencyBucketCount; ++i) EXPECT_EQ(kLatencyBoundsUs[i], 2 * kLatencyBoundsUs[i - 2]) << i;
  EXPECT_EQ(LatencyHistogram::bucket_of(0), 0u);
  EXPECT_EQ(LatencyHistogram::bucket_of(250), 0u);      // bounds are inclusive, as Prometheus' le
  EXPECT_EQ(LatencyHistogram::bucket_of(251), 1u);
  EXPECT_EQ(LatencyHistogram::bucket_of(36000), LatencyHistogram::bucket_of(48000));
  EXPECT_EQ(LatencyHistogram::bucket_of(int64_t{1} << 40), kLatencyBucketCount);  // overflow
}

TEST(LatencyHistogram, QuantilesLieInTheBucketOfTheirValue) {
  LatencyHistogram h;
  for (int i = 0; i < 94; ++i) h.record(36'000);   // 36 ms: bucket (32, 48] ms
  for (int i = 0; i < 5; ++i) h.record(700'000);   // 700 ms: bucket (512, 768] ms
  h.record(3'000'000);                              // 3 s: bucket (2048, 3072] ms
  auto s = h.snapshot();
  EXPECT_EQ(s.count, 100u);
  double p50 = s.quantile_ms(0.5), p95 = s.quantile_ms(0.95), p99 = s.quantile_ms(0.99), p100 = s.quantile_ms(1.0);
  EXPECT_GT(p50, 32);
  EXPECT_LE(p50, 48);
  EXPECT_GT(p95, 512);
  EXPECT_LE(p95, 768);
  EXPECT_GT(p99, 512);
  EXPECT_LE(p99, 768);
  EXPECT_GT(p100, 2048);
  EXPECT_LE(p100, 3072);
  EXPECT_DOUBLE_EQ(s.average_ms(), (94 * 36.0 + 5 * 700.0 + 3000.0) / 100);
  EXPECT_EQ(LatencyHistogram().snapshot().quantile_ms(0.95), 0);
}

TEST(ProviderMeter, CountsOutcomesErrorTypesCostAndTheLastMinute) {
  LocalProviderMeter meter("a");
  ProviderSample ok;
  ok.latency_us = 40'000;
  ok.ttft_us = 20'000;
  ok.upstream_us = 39'000;
  ok.cost_nano_usd = 1'500;
  ok.tokens = 30;
  for (int i = 0; i < 3; ++i) meter.record(ok, at(1000ms));
  ProviderSample limited{.failed = true, .error_type = "rate_limit_error", .latency_us = 5'000};
  meter.record(limited, at(2000ms));
  meter.record(limited, at(70'000ms));
  ProviderSample untyped{.failed = true, .latency_us = 5'000};
  meter.record(untyped, at(70'000ms));

  auto m = meter.read(at(70'000ms));
  EXPECT_EQ(m.provider_id, "a");
  EXPECT_EQ(m.total, 6u);
  EXPECT_EQ(m.failed, 3u);
  EXPECT_EQ(m.cost_nano_usd, 4'500);
  EXPECT_EQ(m.tokens, 90u);
  ASSERT_EQ(m.errors_by_type.size(), 2u);
  EXPECT_EQ(m.errors_by_type[0], (std::pair<std::string, uint64_t>("rate_limit_error", 2)));
  EXPECT_EQ(m.errors_by_type[1], (std::pair<std::string, uint64_t>("unknown", 1)));
  // Only what happened in the last minute counts toward the rates.
  EXPECT_EQ(m.window_requests, 2u);
  EXPECT_EQ(m.window_failures, 2u);
  EXPECT_EQ(m.ttft.count, 3u);
  EXPECT_EQ(m.upstream.count, 3u);
  EXPECT_EQ(m.latency.count, 6u);
}

TEST(ProviderMeter, ErrorTypesBeyondItsSlotsCountAsOther) {
  LocalProviderMeter meter("a");
  std::vector<std::string> types;
  for (size_t i = 0; i < LocalProviderMeter::kErrorTypeSlots + 3; ++i) types.push_back("type_" + std::to_string(i));
  for (const auto& t : types) meter.record({.failed = true, .error_type = t}, at(0ms));
  auto m = meter.read(at(0ms));
  ASSERT_EQ(m.errors_by_type.size(), LocalProviderMeter::kErrorTypeSlots + 1);
  EXPECT_EQ(m.errors_by_type.back(), (std::pair<std::string, uint64_t>("other", 3)));
  EXPECT_EQ(m.failed, types.size());
}

TEST(ProviderMeter, ConcurrentRecordsAreAllCounted) {
  LocalProviderMeter meter("a");
  constexpr int kThreads = 4, kEach = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        meter.record({.failed = i % 2 == 1, .error_type = t % 2 ? "x" : "y", .latency_us = i, .cost_nano_usd = 1},
                     at(0ms));
    });
  for (auto& t : threads) t.join();
  auto m = meter.read(at(0ms));
  EXPECT_EQ(m.total, uint64_t{kThreads * kEach});
  EXPECT_EQ(m.failed, uint64_t{kThreads * kEach / 2});
  EXPECT_EQ(m.cost_nano_usd, int64_t{kThreads * kEach});
  EXPECT_EQ(m.latency.count, uint64_t{kThreads * kEach});
  uint64_t typed = 0;
  for (const auto& [type, n] : m.errors_by_type) typed += n;
  EXPECT_EQ(typed, m.failed);
  EXPECT_EQ(m.errors_by_type.size(), 2u);
}

TEST(ProviderMeterStore, ABindKeepsTheMetersOfIdentitiesThatStay) {
  LocalProviderMeterStore store;
  std::vector<ProviderMeterStore::Key> first = {{"a\nhttp://x", "a"}, {"b\nhttp://y", "b"}};
  auto meters = store.bind(first);
  ASSERT_EQ(meters.size(), 2u);
  meters[0]->record({.latency_us = 1}, at(0ms));
  meters[1]->record({.latency_us = 1}, at(0ms));
  // b changed its URL (a new upstream), c is new, a stays.
  std::vector<ProviderMeterStore::Key> second = {{"c\nhttp://z", "c"}, {"a\nhttp://x", "a"}, {"b\nhttp://other", "b"}};
  auto next = store.bind(second);
  ASSERT_EQ(next.size(), 3u);
  EXPECT_EQ(next[1], meters[0]);
  EXPECT_EQ(next[1]->read(at(0ms)).total, 1u);
  EXPECT_NE(next[2], meters[1]);
  EXPECT_EQ(next[2]->read(at(0ms)).total, 0u);
  EXPECT_EQ(next[0]->read(at(0ms)).provider_id, "c");
}

TEST(ProviderMetricsJson, HasTheSeedsShapeAndUnits) {
  LocalProviderMeter meter("to\"gether");
  meter.record({.latency_us = 36'000, .cost_nano_usd = 2'000'000, .tokens = 100}, at(0ms));
  meter.record({.failed = true, .error_type = "server_error", .latency_us = 36'000}, at(0ms));
  std::string text = provider_metrics_json(meter.read(at(0ms)), {97.5, "2026-12-01T11:20:00Z", "healthy"});
  auto v = boost::json::parse(text).as_object();
  EXPECT_EQ(v.at("providerId").as_string(), "to\"gether");
  const auto& requests = v.at("requests").as_object();
  EXPECT_EQ(requests.at("total").to_number<int>(), 2);
  EXPECT_EQ(requests.at("successful").to_number<int>(), 1);
  EXPECT_EQ(requests.at("failed").to_number<int>(), 1);
  EXPECT_EQ(requests.at("rate").to_number<int>(), 2);
  const auto& latency = v.at("latency").as_object();
  EXPECT_DOUBLE_EQ(latency.at("average").to_number<double>(), 36);
  EXPECT_GT(latency.at("p95").to_number<double>(), 32);
  EXPECT_LE(latency.at("p99").to_number<double>(), 48);
  const auto& costs = v.at("costs").as_object();
  EXPECT_DOUBLE_EQ(costs.at("total").to_number<double>(), 0.002);
  EXPECT_DOUBLE_EQ(costs.at("perRequest").to_number<double>(), 0.001);
  EXPECT_DOUBLE_EQ(costs.at("perToken").to_number<double>(), 0.00002);
  const auto& errors = v.at("errors").as_object();
  EXPECT_EQ(errors.at("total").to_number<int>(), 1);
  EXPECT_EQ(errors.at("byType").as_object().at("server_error").to_number<int>(), 1);
  EXPECT_EQ(errors.at("rate").to_number<int>(), 1);
  const auto& availability = v.at("availability").as_object();
  EXPECT_DOUBLE_EQ(availability.at("uptime").to_number<double>(), 97.5);
  EXPECT_EQ(availability.at("lastCheck").as_string(), "2026-12-01T11:20:00Z");
  EXPECT_EQ(availability.at("status").as_string(), "healthy");

  auto empty = boost::json::parse(provider_metrics_json(LocalProviderMeter("x").read(at(0ms)), {{}, {}, "unknown"}));
  EXPECT_TRUE(empty.at("availability").at("uptime").is_null());
  EXPECT_TRUE(empty.at("availability").at("lastCheck").is_null());
  EXPECT_EQ(empty.at("costs").at("perRequest").to_number<double>(), 0);
}

}  // namespace
}  // namespace llmux::observability
