// The SQLite usage ledger: every row stored once, exact totals, filters and groupings, backpressure
// instead of drops, everything queued stored on close, repricing from raw tokens.
#include "storage/ledger.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "storage/usage_query.hpp"

namespace llmux::storage {
namespace {

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/llmux-ledger-test-XXXXXX";
    ASSERT_TRUE(::mkdtemp(dir));
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<UsageLedger> open(size_t capacity = 4096, size_t batch = 1024,
                                    std::chrono::milliseconds window = std::chrono::milliseconds(100)) {
    SqliteLedgerOptions o;
    o.path = ledger_path(dir_);
    o.queue_capacity = capacity;
    o.batch_rows = batch;
    o.batch_window = window;
    auto ledger = open_sqlite_ledger(o);
    EXPECT_TRUE(ledger) << (ledger ? "" : ledger.error());
    return ledger ? std::move(*ledger) : nullptr;
  }

  std::string dir_;
};

UsageRow row(int64_t time_ms, std::string provider, std::string model, int64_t input, int64_t output, int64_t cost) {
  UsageRow r;
  r.time_ms = time_ms;
  r.request_id = "req-" + std::to_string(time_ms);
  r.provider = provider;
  r.deployment = provider + "/" + model;
  r.model_requested = model;
  r.model_answered = model;
  r.input_tokens = input;
  r.output_tokens = output;
  r.cost_nano_usd = cost;
  r.status = 200;
  r.attempts = 1;
  return r;
}

TEST_F(LedgerTest, RowsFromManyThreadsAreStoredOnceWithExactTotals) {
  auto ledger = open();
  constexpr int kThreads = 4, kEach = 2500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) ledger->record(row(t * kEach + i, "p" + std::to_string(t), "m", 3, 7, 1'000'003));
    });
  for (auto& t : threads) t.join();
  ledger->flush();
  auto report = ledger->report({});
  ASSERT_TRUE(report) << report.error();
  EXPECT_EQ(report->total.requests, kThreads * kEach);
  EXPECT_EQ(report->total.input_tokens, 3 * kThreads * kEach);
  EXPECT_EQ(report->total.output_tokens, 7 * kThreads * kEach);
  EXPECT_EQ(report->total.cost_nano_usd, int64_t{1'000'003} * kThreads * kEach);
  EXPECT_EQ(ledger->stats().written, uint64_t{kThreads * kEach});
  EXPECT_EQ(ledger->stats().queued, 0u);
}

TEST_F(LedgerTest, AFullQueueMakesTheCallerWaitAndDropsNothing) {
  auto ledger = open(/*capacity=*/1, /*batch=*/1, std::chrono::milliseconds(100));
  constexpr int kThreads = 4, kEach = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) ledger->record(row(t * kEach + i, "p", "m", 1, 1, 1));
    });
  for (auto& t : threads) t.join();
  ledger->flush();
  auto report = ledger->report({});
  ASSERT_TRUE(report);
  EXPECT_EQ(report->total.requests, kThreads * kEach);
  // Four producers and room for one row: producers found it full and waited.
  EXPECT_GT(ledger->stats().backpressure_waits, 0u);
}

TEST_F(LedgerTest, CloseStoresEverythingQueued) {
  {
    // A window far longer than the test: only close() can have written these rows.
    auto ledger = open(100'000, 100'000, std::chrono::hours(1));
    for (int i = 0; i < 5000; ++i) ledger->record(row(i, "p", "m", 1, 2, 3));
    ledger->close();
  }
  auto reopened = open();
  auto report = reopened->report({});
  ASSERT_TRUE(report);
  EXPECT_EQ(report->total.requests, 5000);
  EXPECT_EQ(report->total.cost_nano_usd, 15000);
}

// The writer inserts many rows per statement and the rest one by one: each row's every column
// must land in its own row, whichever statement carried it (70 = two full statements and six
// single rows).
TEST_F(LedgerTest, EveryColumnOfEveryRowInABatchIsStoredAsRecorded) {
  constexpr int kRows = 70;
  {
    auto ledger = open(4096, 4096, std::chrono::hours(1));
    for (int i = 0; i < kRows; ++i) {
      UsageRow r = row(1000 + i, "p" + std::to_string(i), "m" + std::to_string(i), 10 + i, 20 + i, 30 + i);
      r.key_id = "k" + std::to_string(i);
      r.model_answered = "a" + std::to_string(i);
      r.cached_tokens = 40 + i;
      r.cache_write_tokens = 50 + i;
      r.reasoning_tokens = 60 + i;
      r.estimated = i % 2;
      r.latency_us = 70 + i;
      if (i % 3) r.ttft_us = 80 + i;
      r.status = 200 + i;
      r.error_type = "e" + std::to_string(i);
      r.attempts = 1 + i;
      ledger->record(r);
    }
    ledger->close();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(ledger_path(dir_).c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT time_ms, request_id, key_id, provider, deployment, model_requested, "
                               "model_answered, input_tokens, cached_tokens, cache_write_tokens, output_tokens, "
                               "reasoning_tokens, cost_nano_usd, estimated, latency_us, ttft_us, status, error_type, "
                               "attempts FROM usage ORDER BY id",
                               -1, &st, nullptr),
            SQLITE_OK);
  auto text = [&](int column) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, column))); };
  int i = 0;
  for (; sqlite3_step(st) == SQLITE_ROW; ++i) {
    std::string n = std::to_string(i);
    SCOPED_TRACE("row " + n);
    EXPECT_EQ(sqlite3_column_int64(st, 0), 1000 + i);
    EXPECT_EQ(text(1), "req-" + std::to_string(1000 + i));
    EXPECT_EQ(text(2), "k" + n);
    EXPECT_EQ(text(3), "p" + n);
    EXPECT_EQ(text(4), "p" + n + "/m" + n);
    EXPECT_EQ(text(5), "m" + n);
    EXPECT_EQ(text(6), "a" + n);
    // input, cached, cache-write, output, reasoning tokens and cost, in column order
    const int64_t counts[] = {10, 40, 50, 20, 60, 30};
    for (int c = 0; c < 6; ++c) EXPECT_EQ(sqlite3_column_int64(st, 7 + c), counts[c] + i) << "column " << 7 + c;
    EXPECT_EQ(sqlite3_column_int64(st, 13), i % 2);
    EXPECT_EQ(sqlite3_column_int64(st, 14), 70 + i);
    if (i % 3) EXPECT_EQ(sqlite3_column_int64(st, 15), 80 + i);
    else EXPECT_EQ(sqlite3_column_type(st, 15), SQLITE_NULL);
    EXPECT_EQ(sqlite3_column_int64(st, 16), 200 + i);
    EXPECT_EQ(text(17), "e" + n);
    EXPECT_EQ(sqlite3_column_int64(st, 18), 1 + i);
  }
  EXPECT_EQ(i, kRows);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(LedgerTest, FiltersAndGroupingsSumToTheTotal) {
  auto ledger = open();
  constexpr int64_t kDay = 86'400'000;
  int64_t day0 = 20'000 * kDay;  // 2024-10-04 UTC
  ledger->record(row(day0 + 1, "a", "m1", 10, 1, 100));
  ledger->record(row(day0 + 2, "b", "m1", 20, 2, 200));
  ledger->record(row(day0 + kDay + 5, "a", "m2", 30, 3, 300));
  UsageRow keyed = row(day0 + 2 * kDay, "b", "m2", 40, 4, 400);
  keyed.key_id = "api_keys[0]";
  keyed.estimated = true;
  keyed.status = 502;
  ledger->record(keyed);
  ledger->flush();

  auto by_provider = ledger->report({std::nullopt, std::nullopt, UsageGrouping::provider});
  ASSERT_TRUE(by_provider);
  ASSERT_EQ(by_provider->groups.size(), 2u);
  EXPECT_EQ(by_provider->groups[0].group, "a");
  EXPECT_EQ(by_provider->groups[0].cost_nano_usd, 400);
  EXPECT_EQ(by_provider->groups[1].group, "b");
  EXPECT_EQ(by_provider->groups[1].cost_nano_usd, 600);
  EXPECT_EQ(by_provider->total.cost_nano_usd, 1000);
  EXPECT_EQ(by_provider->total.estimated_requests, 1);
  EXPECT_EQ(by_provider->total.failed_requests, 1);

  auto by_day = ledger->report({std::nullopt, std::nullopt, UsageGrouping::day});
  ASSERT_TRUE(by_day);
  ASSERT_EQ(by_day->groups.size(), 3u);
  EXPECT_EQ(by_day->groups[0].group, "2024-10-04");
  EXPECT_EQ(by_day->groups[0].requests, 2);

  auto by_key = ledger->report({std::nullopt, std::nullopt, UsageGrouping::key});
  ASSERT_TRUE(by_key);
  ASSERT_EQ(by_key->groups.size(), 2u);
  EXPECT_EQ(by_key->groups[1].group, "api_keys[0]");

  auto by_model = ledger->report({std::nullopt, std::nullopt, UsageGrouping::model});
  ASSERT_TRUE(by_model);
  EXPECT_EQ(by_model->groups[1].group, "m2");
  EXPECT_EQ(by_model->groups[1].input_tokens, 70);

  // since inclusive, until exclusive.
  auto window = ledger->report({day0 + 2, day0 + kDay + 5, UsageGrouping::none});
  ASSERT_TRUE(window);
  EXPECT_EQ(window->total.requests, 1);
  EXPECT_EQ(window->total.cost_nano_usd, 200);
}

TEST_F(LedgerTest, RepriceRecomputesFromRawTokensWithCurrentPrices) {
  auto ledger = open();
  UsageRow r = row(1, "p", "m", 1000, 100, 42);
  r.cached_tokens = 400;
  r.reasoning_tokens = 50;
  ledger->record(r);
  ledger->record(row(2, "gone", "old", 5, 5, 77));
  auto result = ledger->reprice([](const std::string& provider, const std::string& model) -> std::optional<ModelPrices> {
    if (provider != "p" || model != "m") return std::nullopt;
    ModelPrices p;
    p.input = 1'000'000;  // pico-USD per token
    p.output = 2'000'000;
    p.cached_input = 100'000;
    return p;
  });
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->repriced, 1);
  EXPECT_EQ(result->unpriced, 1);
  auto report = ledger->report({std::nullopt, std::nullopt, UsageGrouping::provider});
  ASSERT_TRUE(report);
  // 600 × 1e6 + 400 × 1e5 + 100 × 2e6 (reasoning at the output price) pico = 840,000 nano.
  EXPECT_EQ(report->groups[1].group, "p");
  EXPECT_EQ(report->groups[1].cost_nano_usd, 840'000);
  EXPECT_EQ(report->groups[0].cost_nano_usd, 77);  // left as it was
}

// spend_since against report() over the rows themselves, per provider and per key, from several
// day starts: the rollup the writer keeps must give the rows' exact sums.
void expect_spend_matches_rows(UsageLedger& ledger, int64_t since) {
  for (auto [by, grouping] : {std::pair{SpendSubject::provider, UsageGrouping::provider},
                              std::pair{SpendSubject::key, UsageGrouping::key}}) {
    auto spend = ledger.spend_since(since, by);
    ASSERT_TRUE(spend) << spend.error();
    auto report = ledger.report({since, std::nullopt, grouping});
    ASSERT_TRUE(report);
    std::vector<SubjectSpend> expected;
    for (const auto& g : report->groups)
      if (!g.group.empty()) expected.push_back({g.group, g.cost_nano_usd});
    ASSERT_EQ(spend->size(), expected.size()) << "since " << since;
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ((*spend)[i].subject, expected[i].subject);
      EXPECT_EQ((*spend)[i].cost_nano_usd, expected[i].cost_nano_usd) << expected[i].subject << " since " << since;
    }
  }
}

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kDay0 = 20'000 * kDayMs;

void record_spread_rows(UsageLedger& ledger, int n) {
  for (int i = 0; i < n; ++i) {
    // three days, both edges of each day, two providers, two keys and keyless rows
    int64_t at = kDay0 + (i % 3) * kDayMs + (i % 2 ? kDayMs - 1 : 0);
    UsageRow r = row(at, i % 4 ? "a" : "b", "m", 1, 1, 1000 + i);
    if (i % 5) r.key_id = i % 5 == 1 ? "k1" : "k2";
    ledger.record(r);
  }
}

TEST_F(LedgerTest, SpendSinceADayIsTheRowsSumsFromTheRollup) {
  auto ledger = open(4096, 64);
  record_spread_rows(*ledger, 500);  // many batches: the rollup adds across them
  ledger->flush();
  for (int64_t since : {kDay0, kDay0 + kDayMs, kDay0 + 2 * kDayMs, kDay0 + 3 * kDayMs})
    expect_spend_matches_rows(*ledger, since);
  auto none = ledger->spend_since(kDay0 + 3 * kDayMs, SpendSubject::provider);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto a = ledger->spend_since(kDay0, SpendSubject::provider);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].subject, "a");
  EXPECT_GT((*a)[0].cost_nano_usd, 0);
}

TEST_F(LedgerTest, ALedgerWithoutTheRollupGetsItFromItsRowsAtOpen) {
  {
    auto ledger = open();
    record_spread_rows(*ledger, 90);
    ledger->close();
  }
  // What a ledger written by the previous version looks like: rows, no rollup, version 0.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(ledger_path(dir_).c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE spend_by_day; PRAGMA user_version = 0;", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto reopened = open();
  auto spend = reopened->spend_since(kDay0, SpendSubject::key);
  ASSERT_TRUE(spend) << spend.error();
  EXPECT_EQ(spend->size(), 2u);
  expect_spend_matches_rows(*reopened, kDay0);
  expect_spend_matches_rows(*reopened, kDay0 + kDayMs);
}

TEST_F(LedgerTest, RepriceRecomputesTheSpendRollupToo) {
  auto ledger = open();
  record_spread_rows(*ledger, 30);
  auto result = ledger->reprice([](const std::string& provider, const std::string&) -> std::optional<ModelPrices> {
    if (provider != "a") return std::nullopt;
    ModelPrices p;
    p.input = p.output = 5'000'000;
    return p;
  });
  ASSERT_TRUE(result) << result.error();
  EXPECT_GT(result->repriced, 0);
  expect_spend_matches_rows(*ledger, kDay0);
  auto a = ledger->spend_since(kDay0, SpendSubject::provider);
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)[0].cost_nano_usd, result->repriced * 10'000);  // 2 tokens at 5e6 pico each
}

// The nice value of each thread of this process, from /proc (field 19 of a task's stat).
std::vector<int> thread_nice_values() {
  std::vector<int> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // after "pid (comm) "
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i)
      if (i == 19) out.push_back(std::stoi(field));
  }
  return out;
}

TEST_F(LedgerTest, TheWriterThreadYieldsTheCpuToRequestThreads) {
  auto before = thread_nice_values();
  auto ledger = open();
  ledger->record(row(1, "p", "m", 1, 1, 1));
  ledger->flush();  // the writer has run
  auto after = thread_nice_values();
  auto count = [](const std::vector<int>& v) { return std::count(v.begin(), v.end(), 10); };
  EXPECT_EQ(count(after), count(before) + 1);
  EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())), 0);  // the caller's is left alone
}

TEST_F(LedgerTest, TheFileIsPrivate) {
  auto ledger = open();
  struct stat st {};
  ASSERT_EQ(::stat(ledger_path(dir_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(UsageQuery, TimesAndGroupings) {
  constexpr int64_t kNow = 1'764'590'400'000;  // 2025-12-01T12:00:00Z
  EXPECT_EQ(*parse_time_point("7d", kNow), kNow - 7 * 86'400'000LL);
  EXPECT_EQ(*parse_time_point("90m", kNow), kNow - 90 * 60'000LL);
  EXPECT_EQ(*parse_time_point("2025-12-01", kNow), kNow - 12 * 3'600'000LL);
  EXPECT_EQ(*parse_time_point("2025-12-01T10:30:00Z", kNow), kNow - 90 * 60'000LL);
  EXPECT_EQ(*parse_time_point("1700000000000", kNow), 1'700'000'000'000);
  EXPECT_EQ(*parse_time_point("now", kNow), kNow);
  EXPECT_FALSE(parse_time_point("yesterday", kNow));
  EXPECT_FALSE(parse_time_point("2025-02-30", kNow));
  auto q = parse_usage_query("1d", "", "model", kNow);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->by, UsageGrouping::model);
  EXPECT_EQ(*q->since_ms, kNow - 86'400'000);
  EXPECT_FALSE(q->until_ms);
  auto bad = parse_usage_query("", "", "team", kNow);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "by: \"team\" is not a grouping: use provider, model, key or day");
  EXPECT_EQ(query_value("since=7d&by=day", "by"), "day");
  EXPECT_EQ(query_value("until=2025-12-01T10%3A30%3A00Z", "until"), "2025-12-01T10:30:00Z");
  EXPECT_EQ(query_value("by=day", "since"), "");
}

TEST(UsageQuery, TheReportJsonCarriesExactCosts) {
  UsageReport r;
  UsageTotals t;
  t.group = "p";
  t.requests = 2;
  t.cost_nano_usd = 1'234'567'891;
  r.groups.push_back(t);
  r.total = t;
  std::string out = usage_report_json({std::nullopt, 5, UsageGrouping::provider}, r);
  EXPECT_NE(out.find(R"("since":null,"until":5,"by":"provider")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("group":"p","requests":2,)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("cost_nano_usd":1234567891,"cost_usd":1.234567891})"), std::string::npos) << out;
}

}  // namespace
}  // namespace llmux::storage
