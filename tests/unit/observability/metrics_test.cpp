#include "observability/metrics.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

namespace llmux::observability {
namespace {

using namespace std::chrono_literals;

// The value of the line that starts with `series` (name and labels), or -1.
double value_of(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  return -1;
}

TEST(Metrics, CountsRequestsTokensAndDurationsPerSeries) {
  Metrics metrics;
  MetricsShard& shard = metrics.add_shard();
  shard.record({"openai", "gpt-4o", 200, 30ms, 10, 5});
  shard.record({"openai", "gpt-4o", 200, 2s, 20, 7});
  shard.record({"openai", "gpt-4o", 429, 1ms, 0, 0});
  shard.record({"", "", 400, 100us, 0, 0});
  std::string text = metrics.render();

  EXPECT_EQ(value_of(text, R"(llmux_requests_total{provider="openai",model="gpt-4o",status="200"})"), 2);
  EXPECT_EQ(value_of(text, R"(llmux_requests_total{provider="openai",model="gpt-4o",status="429"})"), 1);
  EXPECT_EQ(value_of(text, R"(llmux_requests_total{provider="",model="",status="400"})"), 1);
  EXPECT_EQ(value_of(text, R"(llmux_tokens_total{provider="openai",model="gpt-4o",kind="prompt"})"), 30);
  EXPECT_EQ(value_of(text, R"(llmux_tokens_total{provider="openai",model="gpt-4o",kind="completion"})"), 12);
  // Buckets are cumulative: 30 ms falls under 0.05, 2 s under 2.5.
  const std::string ok = R"(provider="openai",model="gpt-4o",status="200")";
  EXPECT_EQ(value_of(text, "llmux_request_duration_seconds_bucket{" + ok + R"(,le="0.025"})"), 0);
  EXPECT_EQ(value_of(text, "llmux_request_duration_seconds_bucket{" + ok + R"(,le="0.05"})"), 1);
  EXPECT_EQ(value_of(text, "llmux_request_duration_seconds_bucket{" + ok + R"(,le="1"})"), 1);
  EXPECT_EQ(value_of(text, "llmux_request_duration_seconds_bucket{" + ok + R"(,le="2.5"})"), 2);
  EXPECT_EQ(value_of(text, "llmux_request_duration_seconds_bucket{" + ok + R"(,le="+Inf"})"), 2);
  EXPECT_DOUBLE_EQ(value_of(text, "llmux_request_duration_seconds_sum{" + ok + "}"), 2.03);
  EXPECT_EQ(value_of(text, "llmux_request_duration_seconds_count{" + ok + "}"), 2);
  EXPECT_NE(text.find("# TYPE llmux_request_duration_seconds histogram\n"), std::string::npos);
  // Beyond the last bound: only +Inf counts it.
  shard.record({"openai", "gpt-4o", 200, std::chrono::minutes(5), 0, 0});
  text = metrics.render();
  EXPECT_EQ(value_of(text, "llmux_request_duration_seconds_bucket{" + ok + R"(,le="60"})"), 2);
  EXPECT_EQ(value_of(text, "llmux_request_duration_seconds_bucket{" + ok + R"(,le="+Inf"})"), 3);
  EXPECT_EQ(value_of(text, "llmux_request_duration_seconds_count{" + ok + "}"), 3);
  EXPECT_NE(text.find("# TYPE llmux_requests_total counter\n"), std::string::npos);
}

TEST(Metrics, ShardsAreSummedAndLabelValuesEscaped) {
  Metrics metrics;
  MetricsShard& a = metrics.add_shard();
  MetricsShard& b = metrics.add_shard();
  a.record({"p", "we\"ird\\model\n", 200, 1ms, 1, 1});
  b.record({"p", "we\"ird\\model\n", 200, 1ms, 2, 2});
  std::string text = metrics.render();
  EXPECT_EQ(value_of(text, R"(llmux_requests_total{provider="p",model="we\"ird\\model\n",status="200"})"), 2);
  EXPECT_EQ(value_of(text, R"(llmux_tokens_total{provider="p",model="we\"ird\\model\n",kind="prompt"})"), 3);
}

// Two owner threads record while a third scrapes; the final scrape sees every request (run
// under TSan/ASan in CI to catch a race).
TEST(Metrics, ScrapesWhileWorkersRecord) {
  Metrics metrics;
  MetricsShard& a = metrics.add_shard();
  MetricsShard& b = metrics.add_shard();
  constexpr int kPerThread = 20000;
  auto work = [](MetricsShard& shard, const char* provider) {
    for (int i = 0; i < kPerThread; ++i) shard.record({provider, i % 2 ? "m1" : "m2", i % 7 ? 200 : 500, 1ms, 1, 1});
  };
  std::thread t1(work, std::ref(a), "x");
  std::thread t2(work, std::ref(b), "y");
  size_t scrapes = 0;
  for (int i = 0; i < 50; ++i) scrapes += metrics.render().size() > 0;
  t1.join();
  t2.join();
  std::string text = metrics.render();
  double total = 0;
  for (const char* p : {"x", "y"})
    for (const char* m : {"m1", "m2"})
      for (const char* status : {"200", "500"})
        total += std::max(0.0, value_of(text, std::string("llmux_requests_total{provider=\"") + p + "\",model=\"" + m +
                                                  "\",status=\"" + status + "\"}"));
  EXPECT_EQ(total, 2 * kPerThread);
  EXPECT_EQ(scrapes, 50u);
}

}  // namespace
}  // namespace llmux::observability
