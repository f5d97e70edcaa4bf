// Provider metrics, the Prometheus exposition, the access log and LLMUX_DEBUG, end to end: a real
// gateway in front of the fake provider, known traffic through it, then what llmux reports.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <boost/json.hpp>

#include "harness.hpp"
#include "raw_http.hpp"
#include "observability/provider_metrics.hpp"

namespace llmux::test {
namespace {

// A gateway whose stderr is merged into the output the test reads (start_gateway leaves it on
// the test's own stderr).
struct Served {
  Process process;
  int port = 0;
  std::string config_path;
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};

Served serve(const std::string& yaml, std::vector<std::string> env = {}) {
  Served s;
  s.config_path = temp_file(yaml);
  char dir[] = "/tmp/llmux-test-home-XXXXXX";
  if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  env.push_back(std::string("XDG_STATE_HOME=") + dir + "/state");
  env.push_back(std::string("XDG_CONFIG_HOME=") + dir + "/config");
  s.process = Process({LLMUX_BINARY, "serve", "--config", s.config_path, "--port", "0", "--no-watch"}, env, true);
  s.port = port_from_listening_line(s.process.wait_for_line("listening on "));
  if (s.port == 0) throw std::runtime_error("llmux did not start: " + s.process.output());
  return s;
}

std::string chat_body(const std::string& model, const std::string& fake = "{}", bool stream = false) {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hello there"}],"stream":)" +
         (stream ? "true" : "false") + R"(,"fake":)" + fake + "}";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Health probes off and breakers that never open, so that every request reaches the provider.
std::string metrics_config(const FakeProvider& fake, const std::string& key, const std::string& extra = {}) {
  return "router:\n  health: { interval: 0 }\n  breaker: { consecutive_failures: 1000, min_requests: 100000 }\n"
         "providers:\n  fake:\n    base_url: " + fake.base_url() + "\n    api_key: " + key +
         "\n    max_retries: 0\n    models:\n      - id: fake-model\n"
         "        pricing: { input_per_mtok: 1000, output_per_mtok: 2000 }\n" + extra;
}

TEST(ProviderMetricsEndpoint, ReportsKnownTrafficExactly) {
  auto fake = start_fake();
  std::string log_path = temp_file("", ".log");
  const std::string logging = "logging: { access_log: " + log_path + " }\n";
  auto gw = serve(metrics_config(fake, "sk-metrics-key") + logging);
  // 6 successes and 5 failures of three kinds, all answered after 36 ms (latency bucket 32-48 ms),
  // never 5 failures in a row (that would mark the provider down and open its breakers).
  const std::vector<int> statuses = {200, 429, 200, 500, 200, 400, 200, 429, 200, 500, 200};
  double cost_sum = 0;
  std::map<std::string, int> failures_by_type;
  // One keep-alive connection for the traffic and the metrics read: the server starts reading the
  // next request only after the previous one has ended and been counted, so the read sees all 11.
  RawConnection client(gw.port);
  ASSERT_TRUE(client.connected());
  for (int status : statuses) {
    std::string fake_knobs = R"({"latency_ms":36)" + (status == 200 ? std::string() : ",\"status\":" + std::to_string(status)) + "}";
    ASSERT_TRUE(client.send(raw_post("/v1/chat/completions", chat_body("fake-model", fake_knobs))));
    auto r = client.read_response();
    ASSERT_TRUE(r.complete);
    ASSERT_EQ(r.status, status) << r.body;
    if (status == 200) {
      ASSERT_FALSE(r.header("x-llmux-cost-usd").empty());
      cost_sum += std::stod(r.header("x-llmux-cost-usd"));
    } else {
      ++failures_by_type[std::string(boost::json::parse(r.body).at("error").at("type").as_string())];
    }
  }
  ASSERT_GE(failures_by_type.size(), 3u);  // rate limit, server and request errors are told apart

  ASSERT_TRUE(client.send("GET /api/providers/fake/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r.complete);
  ASSERT_EQ(r.status, 200) << r.body;
  auto m = boost::json::parse(r.body).as_object();
  EXPECT_EQ(m.at("providerId").as_string(), "fake");
  const auto& requests = m.at("requests").as_object();
  EXPECT_EQ(requests.at("total").to_number<int64_t>(), 11);
  EXPECT_EQ(requests.at("successful").to_number<int64_t>(), 6);
  EXPECT_EQ(requests.at("failed").to_number<int64_t>(), 5);
  EXPECT_EQ(requests.at("rate").to_number<double>(), 11);  // all of them within the last minute
  const auto& errors = m.at("errors").as_object();
  EXPECT_EQ(errors.at("total").to_number<int64_t>(), 5);
  EXPECT_EQ(errors.at("rate").to_number<double>(), 5);
  const auto& by_type = errors.at("byType").as_object();
  EXPECT_EQ(by_type.size(), failures_by_type.size()) << r.body;
  for (const auto& [type, n] : failures_by_type) {
    ASSERT_TRUE(by_type.contains(type)) << type << " in " << r.body;
    EXPECT_EQ(by_type.at(type).to_number<int64_t>(), n) << type;
  }
  // The known latency (36 ms) puts every request in the bucket above 32 ms; the exact latencies
  // are checked against the access log at the end.
  const auto latency = m.at("latency").as_object();
  for (const char* q : {"average", "p95", "p99"}) EXPECT_GE(latency.at(q).to_number<double>(), 32) << q;
  const auto& costs = m.at("costs").as_object();
  EXPECT_GT(cost_sum, 0);
  EXPECT_NEAR(costs.at("total").to_number<double>(), cost_sum, 1e-12);
  EXPECT_NEAR(costs.at("perRequest").to_number<double>(), cost_sum / 11, 1e-12);
  EXPECT_GT(costs.at("perToken").to_number<double>(), 0);

  // Availability is the health monitor's: the same status and uptime as /api/providers/health.
  auto health = boost::json::parse(http_get(gw.url("/api/providers/health")).body).at("providers").at(0).as_object();
  const auto& availability = m.at("availability").as_object();
  EXPECT_EQ(availability.at("status").as_string(), health.at("status").as_string());
  EXPECT_NEAR(availability.at("uptime").to_number<double>(), health.at("uptime_percent").to_number<double>(), 0.01);
  EXPECT_TRUE(availability.at("lastCheck").is_null());  // probes are off
  EXPECT_TRUE(health.at("last_check").is_null());

  // An unknown provider: 404 in the OpenAI error shape.
  auto missing = http_get(gw.url("/api/providers/nope/metrics"));
  EXPECT_EQ(missing.status, 404);
  auto error = boost::json::parse(missing.body).at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), "provider_not_found");
  EXPECT_NE(std::string(error.at("message").as_string()).find("fake"), std::string::npos);
  EXPECT_TRUE(error.contains("type") && error.contains("param"));
  EXPECT_EQ(http_post(gw.url("/api/providers/fake/metrics"), "{}").status, 405);

  // A reload that keeps the provider keeps its numbers; one that changes its key starts afresh.
  write_file(gw.config_path, metrics_config(fake, "sk-metrics-key",
                                            "  other:\n    base_url: " + fake.base_url() + "\n    models: [other-model]\n") +
                                 logging);
  gw.process.signal(SIGHUP);
  ASSERT_NE(gw.process.wait_for_line("reloaded:"), "");
  auto kept = boost::json::parse(http_get(gw.url("/api/providers/fake/metrics")).body);
  EXPECT_EQ(kept.at("requests").at("total").to_number<int64_t>(), 11);
  EXPECT_EQ(boost::json::parse(http_get(gw.url("/api/providers/other/metrics")).body).at("requests").at("total").to_number<int64_t>(), 0);
  write_file(gw.config_path, metrics_config(fake, "sk-another-key"));
  gw.process.signal(SIGHUP);
  ASSERT_NE(gw.process.wait_for_line("reloaded:"), "");
  auto fresh = boost::json::parse(http_get(gw.url("/api/providers/fake/metrics")).body);
  EXPECT_EQ(fresh.at("requests").at("total").to_number<int64_t>(), 0);

  // The latencies the server measured, one per request, from its access log: the average is
  // theirs, and each quantile lies in the histogram bucket of the value at its rank.
  gw.process.signal(SIGTERM);
  ASSERT_EQ(gw.process.wait(), 0);
  std::vector<int64_t> latencies_us;
  std::istringstream log(read_file(log_path));
  for (std::string line; std::getline(log, line);)
    latencies_us.push_back(std::llround(boost::json::parse(line).at("latency_ms").to_number<double>() * 1000));
  ASSERT_EQ(latencies_us.size(), statuses.size());
  std::sort(latencies_us.begin(), latencies_us.end());
  double sum_ms = 0;
  for (auto us : latencies_us) sum_ms += static_cast<double>(us) / 1000;
  EXPECT_NEAR(latency.at("average").to_number<double>(), sum_ms / static_cast<double>(latencies_us.size()), 0.001);
  for (auto [name, q] : {std::pair{"p95", 0.95}, std::pair{"p99", 0.99}}) {
    auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(latencies_us.size())));
    size_t bucket = observability::LatencyHistogram::bucket_of(latencies_us[rank - 1]);
    ASSERT_LT(bucket, observability::kLatencyBucketCount);
    double lower = bucket ? static_cast<double>(observability::kLatencyBoundsUs[bucket - 1]) / 1000 : 0;
    double upper = static_cast<double>(observability::kLatencyBoundsUs[bucket]) / 1000;
    EXPECT_GE(latency.at(name).to_number<double>(), lower) << name << " " << r.body;
    EXPECT_LE(latency.at(name).to_number<double>(), upper + 0.001) << name << " " << r.body;
  }
}

TEST(ProviderMetricsEndpoint, NeedsTheGatewayKeyLikeTheOtherApiEndpoints) {
  auto fake = start_fake();
  auto gw = serve(metrics_config(fake, "sk-metrics-key") + "api_keys: [gw-key-0001]\n");
  EXPECT_EQ(http_get(gw.url("/api/providers/fake/metrics")).status, 401);
  EXPECT_EQ(http_get(gw.url("/api/providers/fake/metrics"), {"Authorization: Bearer gw-key-0001"}).status, 200);
}

// promtool's verdict on a file: its exit status and what it said.
std::pair<int, std::string> promtool_check(const std::string& path) {
  std::string out;
  FILE* p = ::popen(("promtool check metrics < " + path + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(PrometheusExposition, PassesPromtoolAfterRealTraffic) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus; scripts/setup.sh installs it)";
  auto fake = start_fake();
  auto gw = serve(metrics_config(fake, "sk-metrics-key"));
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat_body("fake-model")).status, 200);
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat_body("fake-model", "{}", true)).status, 200);
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat_body("fake-model", R"({"status":503})")).status, 503);
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat_body("no-such-model")).status, 404);

  auto scrape = http_get(gw.url("/metrics"));
  ASSERT_EQ(scrape.status, 200);
  for (const char* family :
       {"llmux_time_to_first_token_seconds_bucket{provider=\"fake\",le=", "llmux_upstream_latency_seconds_count{provider=\"fake\"} 3",
        "llmux_cost_usd_total{provider=\"fake\"} ", "llmux_errors_total{provider=\"fake\",type=\"server_error\"} 1",
        "llmux_in_flight_requests{provider=\"fake\",deployment=\"fake/fake-model\"} 0",
        "llmux_breaker_state{provider=\"fake\",deployment=\"fake/fake-model\"} 0", "llmux_provider_up{provider=\"fake\"} 1",
        "llmux_ledger_queued_rows ", "llmux_ledger_backpressure_waits_total "})
    EXPECT_NE(scrape.body.find(family), std::string::npos) << family << "\n" << scrape.body;
  std::string path = temp_file(scrape.body, ".prom");
  auto [status, said] = promtool_check(path);
  EXPECT_EQ(status, 0) << said << "\n" << scrape.body;
}

TEST(AccessLog, WritesOneJsonLinePerRequestWithoutBodiesOrSecrets) {
  auto fake = start_fake();
  std::string log_path = temp_file("", ".log");
  auto gw = serve(metrics_config(fake, "sk-upstream-secret-0042") + "api_keys: [gw-secret-key-9911]\nlogging:\n  access_log: " +
                  log_path + "\n");
  const std::vector<std::string> auth = {"Content-Type: application/json", "Authorization: Bearer gw-secret-key-9911"};
  auto with_id = [&](const std::string& id) {
    auto h = auth;
    h.push_back("x-request-id: " + id);
    return h;
  };
  EXPECT_EQ(http_request("POST", gw.url("/v1/chat/completions"), chat_body("fake-model"), with_id("log-ok-1")).status, 200);
  EXPECT_EQ(http_request("POST", gw.url("/v1/chat/completions"), chat_body("fake-model", "{}", true), with_id("log-stream-2")).status, 200);
  EXPECT_EQ(http_request("POST", gw.url("/v1/chat/completions"), chat_body("fake-model", R"({"status":429})"), with_id("log-429-3")).status, 429);
  gw.process.signal(SIGTERM);
  ASSERT_EQ(gw.process.wait(), 0) << gw.process.output();

  std::string log = read_file(log_path);
  for (const char* secret : {"sk-upstream-secret-0042", "gw-secret-key-9911", "hello there"})
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in\n" << log;
  std::map<std::string, boost::json::object> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    auto v = boost::json::parse(line).as_object();
    lines[std::string(v.at("request_id").as_string())] = v;
  }
  ASSERT_EQ(lines.size(), 3u) << log;
  for (const auto& [id, v] : lines) {
    EXPECT_EQ(v.at("method").as_string(), "POST");
    EXPECT_EQ(v.at("path").as_string(), "/v1/chat/completions");
    EXPECT_EQ(v.at("provider").as_string(), "fake");
    EXPECT_EQ(v.at("model").as_string(), "fake-model");
    EXPECT_EQ(v.at("key_id").as_string(), "api_keys[0]");
    EXPECT_EQ(v.at("attempts").to_number<int64_t>(), 1);
    EXPECT_GT(v.at("latency_ms").to_number<double>(), 0);
    EXPECT_EQ(std::string(v.at("time").as_string()).size(), std::string("2026-12-01T14:03:07.123Z").size());
    for (const char* field : {"ttft_ms", "tokens", "cost_usd", "cost_estimated", "error_type", "status", "deployment"})
      EXPECT_TRUE(v.contains(field)) << field;
  }
  EXPECT_EQ(lines["log-ok-1"].at("status").to_number<int64_t>(), 200);
  EXPECT_GT(lines["log-ok-1"].at("tokens").at("input").to_number<int64_t>(), 0);
  EXPECT_GT(lines["log-ok-1"].at("cost_usd").to_number<double>(), 0);
  EXPECT_TRUE(lines["log-ok-1"].at("error_type").is_null());
  EXPECT_FALSE(lines["log-stream-2"].at("ttft_ms").is_null());
  EXPECT_EQ(lines["log-429-3"].at("status").to_number<int64_t>(), 429);
  EXPECT_EQ(lines["log-429-3"].at("error_type").as_string(), "rate_limit_error");
}

TEST(AccessLog, GoesToStderrWhenAskedAndIsOffByDefault) {
  auto fake = start_fake();
  const std::string line_start = "{\"time\":\"";
  for (bool on : {true, false}) {
    auto gw = serve(metrics_config(fake, "sk-metrics-key") + (on ? "logging: { access_log: stderr }\n" : ""));
    EXPECT_EQ(http_request("POST", gw.url("/v1/chat/completions"), chat_body("fake-model"),
                           {"Content-Type: application/json", "x-request-id: stderr-line-1"})
                  .status,
              200);
    gw.process.signal(SIGTERM);
    ASSERT_EQ(gw.process.wait(), 0);
    const std::string& out = gw.process.output();
    size_t at = out.find(line_start);
    if (!on) {
      EXPECT_EQ(at, std::string::npos) << out;
      continue;
    }
    ASSERT_NE(at, std::string::npos) << out;
    auto line = boost::json::parse(out.substr(at, out.find('\n', at) - at)).as_object();
    EXPECT_EQ(line.at("request_id").as_string(), "stderr-line-1");
    EXPECT_EQ(line.at("status").to_number<int64_t>(), 200);
  }
}

TEST(ProviderDebug, LogsUpstreamTrafficWithEveryCredentialRedacted) {
  auto fake = start_fake();
  const std::string bearer_key = "sk-debug-bearer-5c1e9f0a";
  const std::string url_key = "sk-debug-in-url-77d2b4e6";
  const std::string header_key = "org-secret-31aa77cc";
  std::string port = std::to_string(fake.port);
  auto gw = serve("router:\n  health: { interval: 0 }\nproviders:\n"
                  "  lab:\n    base_url: " + fake.base_url() + "\n    api_key: " + bearer_key +
                  "\n    headers: { X-Team: \"team-{api_key}\", X-Org-Token: " + header_key + " }\n    models: [fake-model]\n"
                  "  azure-lab:\n    type: azure-openai\n    base_url: http://127.0.0.1:" + port +
                  "\n    api_version: \"2024-10-21\"\n    api_key: " + url_key +
                  "\n    models: [{ id: azure-model, deployment: " + url_key + " }]\n",
                  {"LLMUX_DEBUG=provider:*"});
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat_body("lab/fake-model")).status, 200);
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat_body("lab/fake-model", "{}", true)).status, 200);
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat_body("azure-lab/azure-model")).status, 200);
  gw.process.signal(SIGTERM);
  ASSERT_EQ(gw.process.wait(), 0);
  const std::string& out = gw.process.output();

  for (const auto& secret : {bearer_key, url_key, header_key})
    EXPECT_EQ(out.find(secret), std::string::npos) << secret << " in\n" << out;
  for (const std::string& expected :
       {std::string("provider debug lab request "), "-> POST " + fake.base_url() + "/chat/completions",
        std::string("Authorization: [redacted]"), std::string("X-Team: [redacted]"), std::string("X-Org-Token: [redacted]"),
        "-> POST http://127.0.0.1:" + port + "/openai/deployments/[redacted]/chat/completions",
        std::string("api-key: [redacted]"), std::string("<- 200 (complete)"), std::string("hello there")})
    EXPECT_NE(out.find(expected), std::string::npos) << expected << " not in\n" << out;
}

TEST(ProviderDebug, NamesAndGlobsSelectProviders) {
  auto fake = start_fake();
  std::string providers = "router:\n  health: { interval: 0 }\nproviders:\n";
  for (const char* id : {"custom-a", "custom-b", "plain"})
    providers += std::string("  ") + id + ":\n    base_url: " + fake.base_url() + "\n    models: [m-" + id + "]\n";
  auto gw = serve(providers, {"LLMUX_DEBUG=provider:custom*"});
  for (const char* model : {"custom-a/m-custom-a", "custom-b/m-custom-b", "plain/m-plain"})
    EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat_body(model)).status, 200);
  gw.process.signal(SIGTERM);
  ASSERT_EQ(gw.process.wait(), 0);
  const std::string& out = gw.process.output();
  EXPECT_NE(out.find("provider debug custom-a request "), std::string::npos) << out;
  EXPECT_NE(out.find("provider debug custom-b request "), std::string::npos) << out;
  EXPECT_EQ(out.find("provider debug plain request "), std::string::npos) << out;
}

}  // namespace
}  // namespace llmux::test
