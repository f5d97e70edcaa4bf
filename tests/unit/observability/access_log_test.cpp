#include "observability/access_log.hpp"
#include "observability/metrics.hpp"
#include "observability/prometheus_text.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace llmux::observability {
namespace {

storage::UsageRow sample_row() {
  storage::UsageRow row;
  row.time_ms = 1'796'133'787'123;  // 2026-12-01T14:03:07.123Z
  row.request_id = "req-\"1\"";
  row.key_id = "api_keys[0]";
  row.provider = "fake";
  row.deployment = "fake/fake-model";
  row.model_requested = "fake-model";
  row.input_tokens = 12;
  row.cached_tokens = 2;
  row.output_tokens = 7;
  row.reasoning_tokens = 1;
  row.cost_nano_usd = 8'400;
  row.latency_us = 36'123;
  row.ttft_us = 20'007;
  row.status = 200;
  row.attempts = 1;
  return row;
}

TEST(AccessLogLine, IsOneJsonObjectWithEveryField) {
  std::string line;
  append_access_line(line, sample_row(), "POST", "/v1/chat/completions");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto v = boost::json::parse(line).as_object();
  EXPECT_EQ(v.at("time").as_string(), "2026-12-01T14:03:07.123Z");
  EXPECT_EQ(v.at("request_id").as_string(), "req-\"1\"");
  EXPECT_EQ(v.at("method").as_string(), "POST");
  EXPECT_EQ(v.at("path").as_string(), "/v1/chat/completions");
  EXPECT_EQ(v.at("status").as_int64(), 200);
  EXPECT_EQ(v.at("provider").as_string(), "fake");
  EXPECT_EQ(v.at("deployment").as_string(), "fake/fake-model");
  EXPECT_EQ(v.at("model").as_string(), "fake-model");
  EXPECT_DOUBLE_EQ(v.at("latency_ms").to_number<double>(), 36.123);
  EXPECT_DOUBLE_EQ(v.at("ttft_ms").to_number<double>(), 20.007);
  const auto& tokens = v.at("tokens").as_object();
  EXPECT_EQ(tokens.at("input").as_int64(), 12);
  EXPECT_EQ(tokens.at("cached").as_int64(), 2);
  EXPECT_EQ(tokens.at("cache_write").as_int64(), 0);
  EXPECT_EQ(tokens.at("output").as_int64(), 7);
  EXPECT_EQ(tokens.at("reasoning").as_int64(), 1);
  EXPECT_DOUBLE_EQ(v.at("cost_usd").to_number<double>(), 0.0000084);
  EXPECT_EQ(v.at("cost_estimated").as_bool(), false);
  EXPECT_EQ(v.at("key_id").as_string(), "api_keys[0]");
  EXPECT_EQ(v.at("attempts").as_int64(), 1);
  EXPECT_TRUE(v.at("error_type").is_null());
}

TEST(AccessLogLine, AFailureBeforeRoutingHasNullsNotEmptyStrings) {
  storage::UsageRow row;
  row.time_ms = 0;
  row.status = 499;
  row.error_type = "client_closed";
  std::string line;
  append_access_line(line, row, "POST", "/v1/chat/\x01weird\"path");
  auto v = boost::json::parse(line).as_object();
  EXPECT_TRUE(v.at("provider").is_null());
  EXPECT_TRUE(v.at("ttft_ms").is_null());
  EXPECT_TRUE(v.at("key_id").is_null());
  EXPECT_EQ(v.at("error_type").as_string(), "client_closed");
  EXPECT_EQ(v.at("path").as_string(), "/v1/chat/\x01weird\"path");
  EXPECT_EQ(v.at("time").as_string(), "1970-01-01T00:00:00.000Z");
}

TEST(PrometheusText, EscapesLabelValuesAndWritesCumulativeHistograms) {
  std::string out;
  PrometheusText text(out);
  text.sample("m", {{"a", "x\\y\"z\nw"}}, uint64_t{3});
  EXPECT_EQ(out, "m{a=\"x\\\\y\\\"z\\nw\"} 3\n");
  out.clear();
  LatencyHistogram h;
  h.record(300);
  h.record(300);
  h.record(int64_t{1} << 40);
  text.histogram("h", {{"p", "a"}}, h.snapshot());
  EXPECT_NE(out.find("h_bucket{p=\"a\",le=\"0.00025\"} 0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("h_bucket{p=\"a\",le=\"0.000375\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("h_bucket{p=\"a\",le=\"196.608\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("h_bucket{p=\"a\",le=\"+Inf\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("h_count{p=\"a\"} 3\n"), std::string::npos) << out;
}

TEST(GovernanceMetrics, RenderNothingUntilSomethingRegistersThenEveryFamily) {
  GovernanceMetrics g;
  std::string out;
  g.render(out);
  EXPECT_EQ(out, "");
  auto& rejected = g.rate_limit_rejections("key", "team-a");
  EXPECT_EQ(&rejected, &g.rate_limit_rejections("key", "team-a"));
  rejected.fetch_add(2);
  g.set_budget_reader([](std::vector<GovernanceMetrics::Budget>& out) {
    out.push_back({"provider", "to\"gether", "daily", 1.25, 10});
  });
  g.render(out);
  EXPECT_NE(out.find("# TYPE llmux_rate_limit_rejections_total counter\n"
                     "llmux_rate_limit_rejections_total{scope=\"key\",name=\"team-a\"} 2\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("llmux_budget_spent_usd{scope=\"provider\",name=\"to\\\"gether\",period=\"daily\"} 1.25\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("llmux_budget_cap_usd{scope=\"provider\",name=\"to\\\"gether\",period=\"daily\"} 10\n"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace llmux::observability
