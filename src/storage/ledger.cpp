#include "storage/ledger.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <thread>

#include "governance/cost.hpp"
#include "observability/log.hpp"

namespace llmux::storage {
namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS usage (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  key_id TEXT NOT NULL,
  provider TEXT NOT NULL,
  deployment TEXT NOT NULL,
  model_requested TEXT NOT NULL,
  model_answered TEXT NOT NULL,
  input_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  cost_nano_usd INTEGER NOT NULL,
  estimated INTEGER NOT NULL,
  latency_us INTEGER NOT NULL,
  ttft_us INTEGER,
  status INTEGER NOT NULL,
  error_type TEXT NOT NULL,
  attempts INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_by_time ON usage(time_ms);
CREATE TABLE IF NOT EXISTS spend_by_day (
  day INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  subject TEXT NOT NULL,
  cost_nano_usd INTEGER NOT NULL,
  PRIMARY KEY (day, kind, subject)
) WITHOUT ROWID;
)";

// spend_by_day: the cost per UTC day (days since the epoch) of each provider (kind 0) and gateway
// key (kind 1), kept by the writer beside the rows. Schema version 1 has it; a ledger of an older
// version gets it computed from its rows once, at its first open by this version.
constexpr int kSchemaVersion = 1;
constexpr int64_t kDayMs = 86'400'000;

constexpr const char* kRebuildSpend =
    "DELETE FROM spend_by_day;"
    "INSERT INTO spend_by_day SELECT time_ms / 86400000, 0, provider, sum(cost_nano_usd) FROM usage "
    "WHERE provider != '' GROUP BY 1, 3;"
    "INSERT INTO spend_by_day SELECT time_ms / 86400000, 1, key_id, sum(cost_nano_usd) FROM usage "
    "WHERE key_id != '' GROUP BY 1, 3;";

constexpr const char* kAddSpend =
    "INSERT INTO spend_by_day (day, kind, subject, cost_nano_usd) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (day, kind, subject) DO UPDATE SET cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd";

constexpr int kColumns = 19;

// Rows are inserted kRowsPerInsert to a statement: SQLite's cost per statement step (VDBE set-up,
// reset) is then paid once for many rows (bench LedgerWriteRows).
constexpr int kRowsPerInsert = 32;

std::string insert_sql(int rows) {
  std::string sql =
      "INSERT INTO usage (time_ms, request_id, key_id, provider, deployment, model_requested, model_answered, "
      "input_tokens, cached_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nano_usd, estimated, "
      "latency_us, ttft_us, status, error_type, attempts) VALUES ";
  for (int r = 0; r < rows; ++r) {
    sql += r ? ",(" : "(";
    for (int c = 0; c < kColumns; ++c) sql += c ? ",?" : "?";
    sql += ')';
  }
  return sql;
}

struct Statement {
  sqlite3_stmt* stmt = nullptr;
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt); }
};

class SqliteLedger final : public UsageLedger {
 public:
  explicit SqliteLedger(SqliteLedgerOptions options) : options_(std::move(options)) {
    if (options_.batch_rows == 0) options_.batch_rows = 1;
    if (options_.queue_capacity < options_.batch_rows) options_.queue_capacity = options_.batch_rows;
  }
  ~SqliteLedger() override {
    close();
    // _v2: the insert statements are members, finalized only after this body; plain close would
    // refuse (SQLITE_BUSY) and leak the connection.
    sqlite3_close_v2(db_);
  }

  Expected<void, std::string> open() {
    // Created 0600 before SQLite opens it: the ledger names keys and models.
    int fd = ::open(options_.path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return unexpected("cannot open the usage ledger " + options_.path + ": " + std::strerror(errno));
    ::close(fd);
    // No SQLite mutex: db_mutex_ already serialises every use of the connection (about 1,900
    // instructions a row saved, bench/instructions.sh).
    if (sqlite3_open_v2(options_.path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK)
      return unexpected(failure("cannot open the usage ledger"));
    sqlite3_busy_timeout(db_, 5000);  // another llmux (serve, usage --reprice) may hold the write lock
    for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", kSchema})
      if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
        return unexpected(failure("cannot prepare the usage ledger"));
    if (auto migrated = migrate(); !migrated) return migrated;
    if (sqlite3_prepare_v2(db_, kAddSpend, -1, &add_spend_.stmt, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(db_, insert_sql(1).c_str(), -1, &insert_one_.stmt, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(db_, insert_sql(kRowsPerInsert).c_str(), -1, &insert_many_.stmt, nullptr) != SQLITE_OK)
      return unexpected(failure("cannot prepare the usage ledger"));
    queue_.reserve(options_.queue_capacity);
    writer_ = std::thread([this] { write_loop(); });
    return {};
  }

  void record(UsageRow row) override {
    std::unique_lock lock(mutex_);
    if (stopped_) {
      std::vector<UsageRow> one;
      one.push_back(std::move(row));
      ++recorded_;
      lock.unlock();
      store_until_done(one);
      return;
    }
    if (queue_.size() >= options_.queue_capacity) {
      ++backpressure_waits_;
      room_.wait(lock, [&] { return queue_.size() < options_.queue_capacity; });
    }
    queue_.push_back(std::move(row));
    ++recorded_;
    if (queue_.size() == 1 || queue_.size() == options_.batch_rows) work_.notify_one();
  }

  void flush() override {
    std::unique_lock lock(mutex_);
    uint64_t target = recorded_;
    flush_wanted_ = true;
    work_.notify_one();
    stored_.wait(lock, [&] { return written_ >= target || !writer_.joinable(); });
    flush_wanted_ = false;
  }

  void close() override {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
    }
    work_.notify_one();
    if (writer_.joinable()) writer_.join();
  }

  Expected<UsageReport, std::string> report(const UsageQuery& query) override;
  Expected<std::vector<SubjectSpend>, std::string> spend_since(int64_t since_ms, SpendSubject by) override;
  Expected<RepriceResult, std::string> reprice(const PriceLookup& prices) override;

  LedgerStats stats() const override {
    std::lock_guard lock(mutex_);
    return {queue_.size(), written_, backpressure_waits_, write_errors_};
  }

 private:
  // Brings a ledger of an older schema version to this one (its spend rollup computed from its
  // rows), in one transaction.
  Expected<void, std::string> migrate() {
    Statement version;
    if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &version.stmt, nullptr) != SQLITE_OK ||
        sqlite3_step(version.stmt) != SQLITE_ROW)
      return unexpected(failure("cannot read the schema version of"));
    if (sqlite3_column_int(version.stmt, 0) >= kSchemaVersion) return {};
    std::string sql = std::string("BEGIN IMMEDIATE;") + kRebuildSpend + "PRAGMA user_version = " +
                      std::to_string(kSchemaVersion) + ";COMMIT;";
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      std::string why = failure("cannot upgrade");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return unexpected(std::move(why));
    }
    return {};
  }

  // The batch's cost per day and subject, added to the rollup (few statements: a batch holds
  // few days and subjects).
  bool add_spend(const std::vector<UsageRow>& rows) {
    std::map<std::tuple<int64_t, int, std::string_view>, int64_t> spend;
    for (const auto& r : rows) {
      int64_t day = r.time_ms / kDayMs;
      if (!r.provider.view().empty()) spend[{day, 0, r.provider.view()}] += r.cost_nano_usd;
      if (!r.key_id.view().empty()) spend[{day, 1, r.key_id.view()}] += r.cost_nano_usd;
    }
    sqlite3_stmt* s = add_spend_.stmt;
    for (const auto& [at, cost] : spend) {
      const auto& [day, kind, subject] = at;
      sqlite3_bind_int64(s, 1, day);
      sqlite3_bind_int(s, 2, kind);
      sqlite3_bind_text(s, 3, subject.data(), static_cast<int>(subject.size()), SQLITE_STATIC);
      sqlite3_bind_int64(s, 4, cost);
      int rc = sqlite3_step(s);
      sqlite3_reset(s);
      if (rc != SQLITE_DONE) return false;
    }
    return true;
  }

  std::string failure(const std::string& what) const {
    return what + " " + options_.path + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
  }

  void write_loop() {
    // The writer is background work sharing the workers' cores: at nice 10 the scheduler runs a
    // ready worker first, so a batch commit (about 2 ms of CPU per 1,000 rows) does not stand in
    // front of requests (the 10,000 req/s bench's p99). It still gets CPU under full load, and
    // a full queue applies backpressure, so rows are never dropped.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
    std::vector<UsageRow> batch;
    batch.reserve(options_.queue_capacity);
    std::unique_lock lock(mutex_);
    for (;;) {
      work_.wait(lock, [&] { return !queue_.empty() || stopped_ || flush_wanted_; });
      if (queue_.empty()) {
        if (stopped_) break;
        stored_.notify_all();
        flush_wanted_ = false;
        continue;
      }
      // The batch window starts with the first row waiting: a row is stored at most one window
      // (plus one write) after it was recorded.
      auto deadline = std::chrono::steady_clock::now() + options_.batch_window;
      work_.wait_until(lock, deadline,
                       [&] { return queue_.size() >= options_.batch_rows || stopped_ || flush_wanted_; });
      batch.swap(queue_);
      lock.unlock();
      room_.notify_all();
      store_until_done(batch);
      lock.lock();
      written_ += batch.size();
      batch.clear();
      stored_.notify_all();
    }
    stored_.notify_all();
  }

  // Rows are never dropped: a failed write (disk full, a lock held too long) is retried.
  void store_until_done(const std::vector<UsageRow>& rows) {
    for (int failures = 0;; ++failures) {
      auto written = store(rows);
      if (written) return;
      {
        std::lock_guard lock(mutex_);
        ++write_errors_;
      }
      observability::log_warning("usage ledger: " + written.error() + "; retrying");
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1000, 50 << std::min(failures, 5))));
    }
  }

  Expected<void, std::string> store(const std::vector<UsageRow>& rows) {
    std::lock_guard lock(db_mutex_);
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
      return unexpected(failure("cannot write to"));
    for (size_t next = 0; next < rows.size();) {
      size_t n = rows.size() - next >= kRowsPerInsert ? kRowsPerInsert : 1;
      sqlite3_stmt* s = n == 1 ? insert_one_.stmt : insert_many_.stmt;
      int i = 0;
      for (size_t end = next + n; next < end; ++next) bind_row(s, i, rows[next]);
      // Every parameter is bound again for the next step: no sqlite3_clear_bindings needed.
      int rc = sqlite3_step(s);
      sqlite3_reset(s);
      if (rc != SQLITE_DONE) {
        std::string why = failure("cannot write to");
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return unexpected(std::move(why));
      }
    }
    if (!add_spend(rows)) {
      std::string why = failure("cannot write to");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return unexpected(std::move(why));
    }
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      std::string why = failure("cannot commit to");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return unexpected(std::move(why));
    }
    return {};
  }

  // Binds the row's columns from parameter i + 1 on; i ends past its last column. The text stays
  // in `r`, which outlives the step (SQLITE_STATIC).
  static void bind_row(sqlite3_stmt* s, int& i, const UsageRow& r) {
    auto text = [&](std::string_view v) { sqlite3_bind_text(s, ++i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC); };
    auto number = [&](int64_t v) { sqlite3_bind_int64(s, ++i, v); };
    number(r.time_ms);
    text(r.request_id);
    text(r.key_id);
    text(r.provider);
    text(r.deployment);
    text(r.model_requested);
    text(r.model_answered);
    for (int64_t v : {r.input_tokens, r.cached_tokens, r.cache_write_tokens, r.output_tokens, r.reasoning_tokens,
                      r.cost_nano_usd, int64_t{r.estimated}, r.latency_us})
      number(v);
    if (r.ttft_us) number(*r.ttft_us);
    else sqlite3_bind_null(s, ++i);
    number(r.status);
    text(r.error_type);
    number(r.attempts);
  }

  SqliteLedgerOptions options_;
  sqlite3* db_ = nullptr;
  std::mutex db_mutex_;  // the connection and its statements: the writer, report() and reprice()
  Statement insert_one_, insert_many_, add_spend_;
  mutable std::mutex mutex_;  // the queue and the counters below
  std::condition_variable work_, room_, stored_;
  std::vector<UsageRow> queue_;
  uint64_t recorded_ = 0, written_ = 0, backpressure_waits_ = 0, write_errors_ = 0;
  bool stopped_ = false, flush_wanted_ = false;
  std::thread writer_;
};

const char* group_column(UsageGrouping by) {
  switch (by) {
    case UsageGrouping::provider: return "provider";
    case UsageGrouping::model: return "model_requested";
    case UsageGrouping::key: return "key_id";
    case UsageGrouping::day: return "strftime('%Y-%m-%d', time_ms / 1000, 'unixepoch')";
    case UsageGrouping::none: break;
  }
  return "''";
}

Expected<UsageReport, std::string> SqliteLedger::report(const UsageQuery& query) {
  std::string sql = std::string("SELECT ") + group_column(query.by) +
                    " AS g, count(*), sum(estimated), sum(status >= 400), sum(input_tokens), sum(cached_tokens), "
                    "sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens), sum(cost_nano_usd) "
                    "FROM usage WHERE time_ms >= ?1 AND time_ms < ?2";
  if (query.by != UsageGrouping::none) sql += " GROUP BY g ORDER BY g";
  std::lock_guard lock(db_mutex_);
  Statement st;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.stmt, nullptr) != SQLITE_OK)
    return unexpected(failure("cannot read"));
  sqlite3_bind_int64(st.stmt, 1, query.since_ms.value_or(INT64_MIN));
  sqlite3_bind_int64(st.stmt, 2, query.until_ms.value_or(INT64_MAX));
  UsageReport out;
  int rc;
  while ((rc = sqlite3_step(st.stmt)) == SQLITE_ROW) {
    UsageTotals t;
    if (auto* g = sqlite3_column_text(st.stmt, 0)) t.group = reinterpret_cast<const char*>(g);
    int64_t* fields[] = {&t.requests, &t.estimated_requests, &t.failed_requests, &t.input_tokens,
                         &t.cached_tokens, &t.cache_write_tokens, &t.output_tokens, &t.reasoning_tokens,
                         &t.cost_nano_usd};
    for (int i = 0; i < 9; ++i) *fields[i] = sqlite3_column_int64(st.stmt, i + 1);
    int64_t* sums[] = {&out.total.requests, &out.total.estimated_requests, &out.total.failed_requests,
                       &out.total.input_tokens, &out.total.cached_tokens, &out.total.cache_write_tokens,
                       &out.total.output_tokens, &out.total.reasoning_tokens, &out.total.cost_nano_usd};
    for (int i = 0; i < 9; ++i) *sums[i] += *fields[i];
    if (query.by != UsageGrouping::none || t.requests) out.groups.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return unexpected(failure("cannot read"));
  return out;
}

Expected<std::vector<SubjectSpend>, std::string> SqliteLedger::spend_since(int64_t since_ms, SpendSubject by) {
  std::lock_guard lock(db_mutex_);
  Statement st;
  if (sqlite3_prepare_v2(db_,
                         "SELECT subject, sum(cost_nano_usd) FROM spend_by_day WHERE kind = ?1 AND day >= ?2 "
                         "GROUP BY subject ORDER BY subject",
                         -1, &st.stmt, nullptr) != SQLITE_OK)
    return unexpected(failure("cannot read"));
  sqlite3_bind_int(st.stmt, 1, by == SpendSubject::provider ? 0 : 1);
  sqlite3_bind_int64(st.stmt, 2, since_ms / kDayMs);  // the day as the writer counts it
  std::vector<SubjectSpend> out;
  int rc;
  while ((rc = sqlite3_step(st.stmt)) == SQLITE_ROW)
    out.push_back({reinterpret_cast<const char*>(sqlite3_column_text(st.stmt, 0)), sqlite3_column_int64(st.stmt, 1)});
  if (rc != SQLITE_DONE) return unexpected(failure("cannot read"));
  return out;
}

Expected<RepriceResult, std::string> SqliteLedger::reprice(const PriceLookup& prices) {
  flush();
  std::lock_guard lock(db_mutex_);
  Statement rows, update;
  if (sqlite3_prepare_v2(db_,
                         "SELECT id, provider, deployment, input_tokens, cached_tokens, cache_write_tokens, "
                         "output_tokens, reasoning_tokens FROM usage",
                         -1, &rows.stmt, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_, "UPDATE usage SET cost_nano_usd = ?1 WHERE id = ?2", -1, &update.stmt, nullptr) != SQLITE_OK)
    return unexpected(failure("cannot reprice"));
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return unexpected(failure("cannot reprice"));
  RepriceResult result;
  int rc;
  while ((rc = sqlite3_step(rows.stmt)) == SQLITE_ROW) {
    std::string provider = reinterpret_cast<const char*>(sqlite3_column_text(rows.stmt, 1));
    std::string deployment = reinterpret_cast<const char*>(sqlite3_column_text(rows.stmt, 2));
    std::string model = deployment.substr(std::min(deployment.size(), provider.size() + 1));
    auto price = provider.empty() ? std::nullopt : prices(provider, model);
    if (!price) {
      ++result.unpriced;
      continue;
    }
    json::Usage u;
    u.prompt_tokens = sqlite3_column_int64(rows.stmt, 3);
    u.cached_tokens = sqlite3_column_int64(rows.stmt, 4);
    u.cache_write_tokens = sqlite3_column_int64(rows.stmt, 5);
    u.completion_tokens = sqlite3_column_int64(rows.stmt, 6);
    u.reasoning_tokens = sqlite3_column_int64(rows.stmt, 7);
    sqlite3_bind_int64(update.stmt, 1, governance::cost_nano_usd(u, *price));
    sqlite3_bind_int64(update.stmt, 2, sqlite3_column_int64(rows.stmt, 0));
    int step = sqlite3_step(update.stmt);
    sqlite3_reset(update.stmt);
    if (step != SQLITE_DONE) {
      std::string why = failure("cannot reprice");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return unexpected(std::move(why));
    }
    ++result.repriced;
  }
  if (rc != SQLITE_DONE || sqlite3_exec(db_, kRebuildSpend, nullptr, nullptr, nullptr) != SQLITE_OK ||
      sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string why = failure("cannot reprice");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return unexpected(std::move(why));
  }
  return result;
}

}  // namespace

Expected<std::unique_ptr<UsageLedger>, std::string> open_sqlite_ledger(const SqliteLedgerOptions& options) {
  auto ledger = std::make_unique<SqliteLedger>(options);
  if (auto opened = ledger->open(); !opened) return unexpected(std::move(opened).error());
  return std::unique_ptr<UsageLedger>(std::move(ledger));
}

void append_ledger_metrics(std::string& out, const LedgerStats& stats) {
  struct Line {
    const char* name;
    const char* type;
    const char* help;
    uint64_t value;
  };
  const Line lines[] = {
      {"llmux_ledger_queued_rows", "gauge", "Usage ledger rows waiting for the writer.", stats.queued},
      {"llmux_ledger_rows_written_total", "counter", "Usage ledger rows stored.", stats.written},
      {"llmux_ledger_backpressure_waits_total", "counter",
       "Requests that waited for room in the full usage ledger queue.", stats.backpressure_waits},
      {"llmux_ledger_write_errors_total", "counter", "Failed usage ledger batch writes (retried).", stats.write_errors}};
  for (const auto& l : lines) {
    out.append("# HELP ").append(l.name).append(" ").append(l.help).append("\n# TYPE ").append(l.name);
    out.append(" ").append(l.type).append("\n").append(l.name).append(" ").append(std::to_string(l.value)).append("\n");
  }
}

std::string ledger_path(const std::string& state_dir) { return state_dir + "/usage.db"; }

}  // namespace llmux::storage
