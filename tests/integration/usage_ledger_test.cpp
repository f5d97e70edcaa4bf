// Cost and the usage ledger through the real binaries: the cost header and stream cost, the
// ledger's totals against the answers, `llmux usage`, and what SIGTERM and SIGKILL leave in it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "cli_harness.hpp"
#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// $0.60 / $1.20 per 1M tokens, written per 1K as the seeds write it.
std::string priced_config(const std::string& base_url, const std::string& state_dir, const std::string& extra = "") {
  return extra + "state_dir: " + state_dir + "\nproviders:\n  - id: fake\n    base_url: " + base_url +
         "\n    models:\n      - id: fake-model\n        pricing: { input: 0.0006, output: 0.0012 }\n";
}

// Every request id the ledger file holds.
std::multiset<std::string> ledger_request_ids(const std::string& state_dir) {
  std::multiset<std::string> ids;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2((state_dir + "/usage.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT request_id FROM usage", -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  while (st && sqlite3_step(st) == SQLITE_ROW) ids.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return ids;
}

const char* kChat = R"({"model":"fake-model","messages":[{"role":"user","content":"Hello"}]})";

// GET /api/usage once it counts `requests`: a request is recorded when its exchange ends, just
// after the client has its answer. Each poll is a real round trip; the deadline bounds the wait.
json::object usage_report(const Gateway& gw, const std::string& query, int64_t requests,
                          const std::vector<std::string>& headers = {}) {
  auto until = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto r = http_get(gw.url("/api/usage" + query), headers);
    EXPECT_EQ(r.status, 200) << r.body;
    auto report = json::parse(r.body).as_object();
    if (r.status != 200 || report.at("total").at("requests").as_int64() >= requests || Clock::now() > until)
      return report;
  }
}

TEST(Cost, PlainAnswersCarryTheCostHeaderAndStreamsCarryItInTheUsageChunkWhenAsked) {
  TempDir state;
  auto fake = start_fake();
  auto gw = start_gateway(priced_config(fake.base_url(), state.path));
  auto plain = http_post(gw.url("/v1/chat/completions"), kChat);
  ASSERT_EQ(plain.status, 200) << plain.body;
  auto usage = json::parse(plain.body).at("usage");
  int64_t expected = usage.at("prompt_tokens").as_int64() * 600 + usage.at("completion_tokens").as_int64() * 1200;
  EXPECT_EQ(nanos_of(plain.header("x-llmux-cost-usd")), expected) << plain.header("x-llmux-cost-usd");
  EXPECT_EQ(plain.header("x-llmux-cost-estimated"), "");

  auto asked = http_post(gw.url("/v1/chat/completions"),
                         R"({"model":"fake-model","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hello"}]})");
  ASSERT_EQ(asked.status, 200);
  auto events = sse_data(asked.body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back(), "[DONE]");
  auto final_usage = json::parse(events[events.size() - 2]).at("usage").as_object();
  int64_t stream_cost = final_usage.at("prompt_tokens").as_int64() * 600 + final_usage.at("completion_tokens").as_int64() * 1200;
  // cost_usd is a JSON number written as an exact decimal: compare its text.
  std::string raw = events[events.size() - 2];
  size_t at = raw.find("\"cost_usd\":");
  ASSERT_NE(at, std::string::npos) << raw;
  EXPECT_EQ(nanos_of(raw.substr(at + 11, raw.find_first_of(",}", at) - at - 11)), stream_cost);

  auto not_asked = http_post(gw.url("/v1/chat/completions"),
                             R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"Hello"}]})");
  ASSERT_EQ(not_asked.status, 200);
  EXPECT_EQ(not_asked.body.find("cost_usd"), std::string::npos) << not_asked.body;
}

TEST(Cost, AnAnswerWithoutUsageIsEstimatedAndSaysSo) {
  TempDir state;
  auto fake = start_fake();
  auto gw = start_gateway(priced_config(fake.base_url(), state.path));
  auto r = http_post(gw.url("/v1/chat/completions"),
                     R"({"model":"fake-model","messages":[{"role":"user","content":"Hello"}],"fake":{"usage":false}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).as_object().count("usage"), 0u) << r.body;
  EXPECT_EQ(r.header("x-llmux-cost-estimated"), "true");
  EXPECT_GT(nanos_of(r.header("x-llmux-cost-usd")), 0);
  auto report = usage_report(gw, "", 1);
  EXPECT_EQ(report.at("total").at("estimated_requests").as_int64(), 1);
}

TEST(UsageLedger, ApiAndCliTotalsMatchTheAnswersExactly) {
  TempDir state;
  auto fake = start_fake();
  std::string config = priced_config(fake.base_url(), state.path, "api_keys: [ak-team-a-0001, ak-team-b-0002]\n");
  auto gw = start_gateway(config);
  int64_t cost_sum = 0, output_sum = 0;
  for (int i = 0; i < 12; ++i) {
    std::string key = i % 3 ? "ak-team-a-0001" : "ak-team-b-0002";
    std::string body = R"({"model":"fake-model","messages":[{"role":"user","content":")" + std::string(i + 1, 'w') + R"("}]})";
    auto r = http_post(gw.url("/v1/chat/completions"), body,
                       {"Content-Type: application/json", "Authorization: Bearer " + key});
    ASSERT_EQ(r.status, 200) << r.body;
    cost_sum += nanos_of(r.header("x-llmux-cost-usd"));
    output_sum += json::parse(r.body).at("usage").at("completion_tokens").as_int64();
  }
  auto unknown = http_post(gw.url("/v1/chat/completions"), R"({"model":"nope","messages":[{"role":"user","content":"x"}]})",
                           {"Content-Type: application/json", "Authorization: Bearer ak-team-a-0001"});
  ASSERT_EQ(unknown.status, 404);

  auto report = usage_report(gw, "?by=key", 13, {"Authorization: Bearer ak-team-a-0001"});
  std::string api = json::serialize(report);
  EXPECT_EQ(report.at("total").at("requests").as_int64(), 13);
  EXPECT_EQ(report.at("total").at("failed_requests").as_int64(), 1);
  EXPECT_EQ(report.at("total").at("cost_nano_usd").as_int64(), cost_sum);
  EXPECT_EQ(report.at("total").at("output_tokens").as_int64(), output_sum);
  const auto& groups = report.at("groups").as_array();
  ASSERT_EQ(groups.size(), 2u) << api;
  EXPECT_EQ(groups[0].at("group").as_string(), "api_keys[0]");
  EXPECT_EQ(groups[0].at("requests").as_int64(), 9);  // 8 answers and the 404
  EXPECT_EQ(groups[1].at("group").as_string(), "api_keys[1]");
  EXPECT_EQ(groups[1].at("requests").as_int64(), 4);
  EXPECT_EQ(report.at("providers").at("fake").at("requests").as_int64(), 12);  // the in-memory totals stay
  EXPECT_EQ(http_get(gw.url("/api/usage?since=soon"), {"Authorization: Bearer ak-team-a-0001"}).status, 400);
  auto metrics = http_get(gw.url("/metrics"), {"Authorization: Bearer ak-team-a-0001"}).body;
  EXPECT_NE(metrics.find("\nllmux_ledger_rows_written_total 13\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nllmux_ledger_backpressure_waits_total 0\n"), std::string::npos) << metrics;

  gw.process.signal(SIGTERM);
  ASSERT_EQ(gw.process.wait(), 0);
  Sandbox sandbox;
  std::string config_file = temp_file(config);
  auto cli = sandbox.run({"usage", "--config", config_file, "--json", "--by", "provider"});
  ASSERT_EQ(cli.exit, 0) << cli.all();
  auto from_cli = json::parse(cli.out).as_object();
  EXPECT_EQ(from_cli.at("total").at("cost_nano_usd").as_int64(), cost_sum);
  EXPECT_EQ(from_cli.at("total").at("requests").as_int64(), 13);
  auto table = sandbox.run({"usage", "--config", config_file, "--since", "1d"});
  ASSERT_EQ(table.exit, 0) << table.all();
  EXPECT_NE(table.out.find("total"), std::string::npos) << table.out;
  EXPECT_EQ(sandbox.run({"usage", "--config", config_file, "--since", "later"}).exit, 2);

  // --reprice: the same raw tokens at doubled prices cost exactly twice as much.
  std::string doubled = temp_file(config.replace(config.find("input: 0.0006, output: 0.0012"), 29,
                                                 "input_per_mtok: 1.2, output_per_mtok: 2.4"));
  auto repriced = sandbox.run({"usage", "--config", doubled, "--reprice"});
  ASSERT_EQ(repriced.exit, 0) << repriced.all();
  EXPECT_NE(repriced.out.find("repriced 12 request(s)"), std::string::npos) << repriced.out;
  auto after = json::parse(sandbox.run({"usage", "--config", doubled, "--json"}).out);
  EXPECT_EQ(after.at("total").at("cost_nano_usd").as_int64(), 2 * cost_sum);
}

// Clients that keep sending until told to stop; each answer's request id and arrival time.
struct Load {
  struct Done {
    std::string request_id;
    Clock::time_point at;
  };
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::vector<Done> done;
  std::vector<std::thread> clients;

  void start(const Gateway& gw, int count, const std::string& body) {
    for (int c = 0; c < count; ++c)
      clients.emplace_back([this, &gw, body] {
        while (!stop.load()) {
          auto r = http_post(gw.url("/v1/chat/completions"), body);
          if (r.status != 200) continue;
          std::lock_guard lock(mutex);
          done.push_back({r.header("x-request-id"), Clock::now()});
        }
      });
  }
  void wait_for(size_t answers) {
    auto until = Clock::now() + std::chrono::seconds(20);
    for (;;) {
      {
        std::lock_guard lock(mutex);
        if (done.size() >= answers || Clock::now() > until) return;
      }
      http_get("http://127.0.0.1:1/");  // a real round trip (refused at once), not a sleep
    }
  }
  void finish() {
    stop = true;
    for (auto& t : clients) t.join();
  }
};

TEST(UsageLedger, SigtermStoresEveryAnsweredRequestBeforeExit) {
  TempDir state;
  auto fake = start_fake();
  auto gw = start_gateway(priced_config(fake.base_url(), state.path));
  Load load;
  load.start(gw, 4, kChat);
  load.wait_for(300);
  gw.process.signal(SIGTERM);
  EXPECT_EQ(gw.process.wait(), 0);
  load.finish();
  auto stored = ledger_request_ids(state.path);
  ASSERT_GE(load.done.size(), 300u);
  size_t missing = 0;
  for (const auto& d : load.done) missing += stored.count(d.request_id) != 1;
  EXPECT_EQ(missing, 0u) << "of " << load.done.size() << " answers";
  EXPECT_EQ(stored.size(), load.done.size());  // and nothing twice or extra
}

// `ledger: {enabled: false}`: no ledger file, answers as before, /api/usage with the totals since
// start only.
TEST(UsageLedger, OffMeansNoFileAndTheTotalsSinceStart) {
  TempDir state;
  auto fake = start_fake();
  auto gw = start_gateway(priced_config(fake.base_url(), state.path, "ledger: { enabled: false }\n"));
  auto r = http_post(gw.url("/v1/chat/completions"), kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.header("x-llmux-cost-usd").empty());  // the cost is still computed
  auto usage = http_get(gw.url("/api/usage"));
  ASSERT_EQ(usage.status, 200) << usage.body;
  auto report = json::parse(usage.body).as_object();
  EXPECT_FALSE(report.contains("total")) << usage.body;
  EXPECT_EQ(report.at("providers").at("fake").at("requests").as_int64(), 1) << usage.body;
  gw.process.signal(SIGTERM);
  EXPECT_EQ(gw.process.wait(), 0);
  EXPECT_FALSE(std::filesystem::exists(state.path + "/usage.db"));
}

// The documented bound: a SIGKILL loses at most the rows of the last batch window (100 ms) plus
// the time one batch takes to write. Measured: the newest answer missing from the ledger.
TEST(UsageLedger, SigkillLosesAtMostTheLastBatchWindow) {
  TempDir state;
  auto fake = start_fake();
  auto gw = start_gateway(priced_config(fake.base_url(), state.path));
  Load load;
  load.start(gw, 4, kChat);
  load.wait_for(1500);
  auto killed_at = Clock::now();
  gw.process.signal(SIGKILL);
  EXPECT_EQ(gw.process.wait(), 128 + SIGKILL);
  load.finish();
  auto stored = ledger_request_ids(state.path);
  std::chrono::milliseconds oldest_missing{-1};
  size_t missing = 0;
  for (const auto& d : load.done) {
    if (d.at > killed_at || stored.count(d.request_id)) continue;
    ++missing;
    oldest_missing = std::max(oldest_missing, std::chrono::duration_cast<std::chrono::milliseconds>(killed_at - d.at));
  }
  std::printf("SIGKILL under load: %zu answers, %zu stored, %zu missing, oldest missing %lld ms before the kill\n",
              load.done.size(), stored.size(), missing, static_cast<long long>(oldest_missing.count()));
  EXPECT_GT(stored.size(), load.done.size() / 2);  // the ledger was being written while running
  // 100 ms window + one batch's write; the rest of the margin is this 2-core machine's scheduling.
  EXPECT_LT(oldest_missing.count(), 250);
}

}  // namespace
}  // namespace llmux::test
