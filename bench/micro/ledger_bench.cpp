// The usage ledger's cost on the request path: what CompletionExchange::end() does for the ledger
// (build the row from the finished request, cost included, and queue it). Each iteration queues a
// batch of kBatch rows into the gateway's default queue (4096 rows, its memory warm as in a
// running gateway); the writer stores them between iterations, outside the timing, so this is
// the enqueue cost, not the disk's. items_per_second is rows: 1e9 / it = ns per request.
// - LedgerRowAndRecord: usage_row() + record(), a request with reported usage and listed prices.
// - LedgerRecordOnly: record() of a row built beforehand (copied in).
// - LedgerWriteRows: the writer thread's side, off the request path but on the same cores: the
//   time flush() waits for kBatch queued rows to be stored (one transaction); items are rows.
// - StreamTextEstimate: what a passed-through stream adds per event for a possible estimate
//   (StreamTextEstimate::add over each event of a recorded OpenAI stream); items are events.
//   StreamTextScan: the full scan it avoids on all but the first text event.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "corpus.hpp"
#include "governance/usage_record.hpp"
#include "http/sse.hpp"
#include "storage/ledger.hpp"

namespace llmux::bench {
namespace {

constexpr int kBatch = 2048;

std::unique_ptr<storage::UsageLedger> open_ledger(std::string& dir) {
  char path[] = "/tmp/llmux-ledger-bench-XXXXXX";
  if (!::mkdtemp(path)) std::abort();
  dir = path;
  storage::SqliteLedgerOptions o;
  o.path = storage::ledger_path(dir);
  o.batch_rows = o.queue_capacity;      // the writer waits for flush() ...
  o.batch_window = std::chrono::hours(1);  // ... not for its window
  auto ledger = storage::open_sqlite_ledger(o);
  if (!ledger) std::abort();
  return std::move(*ledger);
}

struct Fixture {
  governance::KeyPolicy key;
  ModelConfig model;
  std::string request_id = "req_4b1c0e9f2a7d3e6c8b5a1f0d";
  Fixture() {
    key.id = key.name = "api_keys[0]";
    model.id = "llama-3.3-70b-versatile";
    model.prices.input = 590'000;
    model.prices.output = 790'000;
  }
  governance::FinishedRequest request() const {
    governance::FinishedRequest f;
    f.key = &key;
    f.request_id = request_id;
    f.provider = "groq";
    f.model = &model;
    f.upstream_model = model.id;
    f.model_requested = "llama70";
    f.usage.prompt_tokens = 210;
    f.usage.completion_tokens = 15;
    f.usage.total_tokens = 225;
    f.usage.reported = true;
    f.latency = std::chrono::microseconds(1800);
    f.first_token = std::chrono::microseconds(900);
    f.status = 200;
    f.attempts = 1;
    return f;
  }
};

void LedgerRowAndRecord(benchmark::State& state) {
  std::string dir;
  auto ledger = open_ledger(dir);
  Fixture fx;
  auto finished = fx.request();
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) ledger->record(governance::usage_row(finished));
    state.PauseTiming();
    ledger->flush();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["backpressure_waits"] = static_cast<double>(ledger->stats().backpressure_waits);
  ledger->close();
  std::filesystem::remove_all(dir);
}
BENCHMARK(LedgerRowAndRecord)->Iterations(40);

void LedgerRecordOnly(benchmark::State& state) {
  std::string dir;
  auto ledger = open_ledger(dir);
  Fixture fx;
  const storage::UsageRow row = governance::usage_row(fx.request());
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) ledger->record(row);
    state.PauseTiming();
    ledger->flush();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  ledger->close();
  std::filesystem::remove_all(dir);
}
BENCHMARK(LedgerRecordOnly)->Iterations(40);

void LedgerWriteRows(benchmark::State& state) {
  std::string dir;
  auto ledger = open_ledger(dir);
  Fixture fx;
  const storage::UsageRow row = governance::usage_row(fx.request());
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < kBatch; ++i) ledger->record(row);
    state.ResumeTiming();
    ledger->flush();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  ledger->close();
  std::filesystem::remove_all(dir);
}
BENCHMARK(LedgerWriteRows)->Iterations(40)->UseRealTime();

// The data of each event of the recorded OpenAI stream.
std::vector<std::string> openai_events() {
  std::vector<std::string> events;
  http::SseParser parser;
  parser.feed(corpus().openai_sse, [&](const http::SseEvent& e) {
    events.emplace_back(e.data);
    return true;
  });
  return events;
}

void StreamTextScan(benchmark::State& state) {
  const std::vector<std::string> events = openai_events();
  size_t bytes = 0;
  for (auto _ : state)
    for (const auto& e : events) bytes += governance::text_bytes_in_json(e);
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(events.size()));
}
BENCHMARK(StreamTextScan);

void StreamTextEstimate(benchmark::State& state) {
  const std::vector<std::string> events = openai_events();
  size_t bytes = 0;
  for (auto _ : state) {
    governance::StreamTextEstimate estimate;
    for (const auto& e : events) estimate.add(e);
    bytes += estimate.bytes();
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(events.size()));
}
BENCHMARK(StreamTextEstimate);

}  // namespace
}  // namespace llmux::bench
