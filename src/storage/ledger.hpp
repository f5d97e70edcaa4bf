// The usage ledger: one row per finished request, kept so that spend can be reported and
// recomputed (raw token counts are stored next to the cost).
//
// UsageLedger is the interface the gateway records into and reports from; the embedded default
// is SQLite (open_sqlite_ledger), a later issue adds PostgreSQL for many replicas.
//
// Thread-safety: every method of every implementation may be called from any thread at once.
// record() is the only call on the request path: it queues the row and returns; a background
// writer stores queued rows in batches. When the queue is full record() waits for room
// (backpressure, counted in stats().backpressure_waits): rows are never dropped.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/config.hpp"
#include "llmux/expected.hpp"

namespace llmux::storage {

// Text held inside the row, so that building and queueing a row allocates nothing on the request
// path. Longer text is cut at N bytes: request ids are at most 128, ids and model names far
// shorter than their bounds here.
template <size_t N>
class InlineText {
 public:
  InlineText() = default;
  InlineText(std::string_view text) { assign(text); }
  InlineText& operator=(std::string_view text) {
    assign(text);
    return *this;
  }
  void assign(std::string_view text) {
    size_ = 0;
    append(text);
  }
  void append(std::string_view text) {
    size_t n = std::min(text.size(), N - size_);
    if (n == 0) return;  // an empty view may have no data pointer, which memcpy must not get
    std::memcpy(data_ + size_, text.data(), n);
    size_ += n;
  }
  std::string_view view() const { return {data_, size_}; }
  operator std::string_view() const { return view(); }
  bool operator==(std::string_view other) const { return view() == other; }

 private:
  size_t size_ = 0;
  char data_[N];
};

struct UsageRow {
  int64_t time_ms = 0;      // when the request ended, Unix epoch milliseconds
  InlineText<128> request_id;
  InlineText<48> key_id;     // the gateway key's name (master_key, api_keys[N], a virtual key's); empty: none
  InlineText<64> provider;   // empty: the request never reached a provider
  InlineText<320> deployment;  // provider/model id of the configured model that answered
  InlineText<256> model_requested;
  InlineText<256> model_answered;  // the id the provider was sent
  // input_tokens includes the cached and cache-write tokens; output_tokens the reasoning ones.
  int64_t input_tokens = 0, cached_tokens = 0, cache_write_tokens = 0, output_tokens = 0, reasoning_tokens = 0;
  int64_t cost_nano_usd = 0;
  bool estimated = false;   // counts estimated from the texts: the provider reported no usage
  int64_t latency_us = 0;   // arrival to the end of the answer
  std::optional<int64_t> ttft_us;  // arrival to the first content sent; none for errors
  int status = 0;           // HTTP status answered (499: the client left first)
  InlineText<64> error_type;  // the OpenAI error type, empty on success
  int attempts = 0;         // upstream attempts made
};

enum class UsageGrouping { none, provider, model, key, day };

struct UsageQuery {
  std::optional<int64_t> since_ms;  // inclusive
  std::optional<int64_t> until_ms;  // exclusive
  UsageGrouping by = UsageGrouping::none;
};

struct UsageTotals {
  std::string group;  // the provider, model, key id or UTC day (YYYY-MM-DD); empty when ungrouped
  int64_t requests = 0, estimated_requests = 0, failed_requests = 0;
  int64_t input_tokens = 0, cached_tokens = 0, cache_write_tokens = 0, output_tokens = 0, reasoning_tokens = 0;
  int64_t cost_nano_usd = 0;
};

struct UsageReport {
  std::vector<UsageTotals> groups;  // ordered by group; one entry when ungrouped
  UsageTotals total;                // the sum of the groups, exactly
};

// Whose spend spend_since() sums: the provider's or the gateway key's (empty ones are left out).
enum class SpendSubject { provider, key };

struct SubjectSpend {
  std::string subject;
  int64_t cost_nano_usd = 0;
};

struct LedgerStats {
  uint64_t queued = 0;              // rows waiting for the writer now
  uint64_t written = 0;             // rows stored since open
  uint64_t backpressure_waits = 0;  // record() calls that waited for room in the queue
  uint64_t write_errors = 0;        // failed batch writes (retried, never dropped)
};

// Current prices of a deployment's model; nullopt when it is no longer configured.
using PriceLookup = std::function<std::optional<ModelPrices>(const std::string& provider, const std::string& model_id)>;

struct RepriceResult {
  int64_t repriced = 0;  // rows whose cost was recomputed (changed or not)
  int64_t unpriced = 0;  // rows whose model has no configured price now: left as they were
};

class UsageLedger {
 public:
  virtual ~UsageLedger() = default;
  // Queues the row; waits only while the queue is full.
  virtual void record(UsageRow row) = 0;
  // Returns once every row recorded before the call is stored.
  virtual void flush() = 0;
  // Stores everything queued and stops the writer; record() after close() stores synchronously.
  virtual void close() = 0;
  virtual Expected<UsageReport, std::string> report(const UsageQuery& query) = 0;
  // The cost per subject of the rows stored from the UTC day holding `since_ms` on, ordered by
  // subject. Read from a per-day rollup the writer keeps in the same transaction as the rows, so
  // its cost is days times subjects, not rows: budgets read it at every start.
  virtual Expected<std::vector<SubjectSpend>, std::string> spend_since(int64_t since_ms, SpendSubject by) = 0;
  // Recomputes every row's cost from its raw token counts with `prices`.
  virtual Expected<RepriceResult, std::string> reprice(const PriceLookup& prices) = 0;
  virtual LedgerStats stats() const = 0;
};

struct SqliteLedgerOptions {
  std::string path;                  // the database file (created with mode 0600)
  size_t queue_capacity = 4096;      // rows; record() waits beyond this
  size_t batch_rows = 1024;          // a batch is written once this many rows are queued …
  std::chrono::milliseconds batch_window{100};  // … or this long after its first row arrived
};

// The bound on what a SIGKILL can lose: rows recorded within the last batch window plus the
// time one batch takes to write. Everything older is committed (WAL, synchronous=NORMAL).
Expected<std::unique_ptr<UsageLedger>, std::string> open_sqlite_ledger(const SqliteLedgerOptions& options);

// Prometheus lines for the stats: llmux_ledger_queued_rows, llmux_ledger_rows_written_total,
// llmux_ledger_backpressure_waits_total, llmux_ledger_write_errors_total.
void append_ledger_metrics(std::string& out, const LedgerStats& stats);

// The ledger file inside a state directory.
std::string ledger_path(const std::string& state_dir);

}  // namespace llmux::storage
