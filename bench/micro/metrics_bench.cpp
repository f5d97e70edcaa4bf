// The per-request metrics record (observability/metrics.hpp) and the /metrics rendering.
// - MetricsRecord: one request's record (series lookup by provider/model/status, counters, a
//   histogram bucket) cycling over 10 providers x 4 models x 3 statuses, as a worker does after each
//   response. With ->Threads(2) each thread records into its own shard, as two workers do: the
//   figure should not move, since nothing is shared on this path.
// - MetricsRender: a scrape of 120 series spread over 2 shards.
#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <string>

#include "observability/metrics.hpp"

namespace llmux::bench {
namespace {

using observability::Metrics;
using observability::MetricsShard;
using observability::RequestRecord;

struct Workload {
  std::array<std::string, 10> providers;
  std::array<std::string, 4> models;
  std::array<int, 3> statuses{200, 429, 502};
  Workload() {
    for (size_t i = 0; i < providers.size(); ++i) providers[i] = "provider-" + std::to_string(i);
    for (size_t i = 0; i < models.size(); ++i) models[i] = "model-name-" + std::to_string(i);
  }
  RequestRecord record(size_t i) const {
    return {providers[i % providers.size()], models[(i / providers.size()) % models.size()],
            statuses[(i / 40) % statuses.size()], std::chrono::microseconds(200 + i % 5000), 400, 120};
  }
};

const Workload& workload() {
  static const Workload w;
  return w;
}

// One shard per benchmark thread, made before the threads start recording.
MetricsShard& shard_for(int thread) {
  static Metrics metrics;
  static std::array<MetricsShard*, 8> shards = [] {
    std::array<MetricsShard*, 8> s{};
    for (auto& shard : s) shard = &metrics.add_shard();
    return s;
  }();
  return *shards[static_cast<size_t>(thread) % shards.size()];
}

void MetricsRecord(benchmark::State& state) {
  MetricsShard& shard = shard_for(state.thread_index());
  const Workload& w = workload();
  std::array<RequestRecord, 120> records;
  for (size_t i = 0; i < records.size(); ++i) records[i] = w.record(i);
  size_t i = 0;
  for (auto _ : state) {
    shard.record(records[i]);
    if (++i == records.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(MetricsRecord);
BENCHMARK(MetricsRecord)->Threads(2);

void MetricsRender(benchmark::State& state) {
  Metrics metrics;
  MetricsShard& a = metrics.add_shard();
  MetricsShard& b = metrics.add_shard();
  for (size_t i = 0; i < 240; ++i) (i % 2 ? a : b).record(workload().record(i / 2));
  std::string text = metrics.render();
  if (text.find("llmux_requests_total{provider=\"provider-9\"") == std::string::npos)
    return state.SkipWithError("a series is missing from the rendering");
  for (auto _ : state) {
    std::string out = metrics.render();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::to_string(text.size()) + " B");
}
BENCHMARK(MetricsRender);

}  // namespace
}  // namespace llmux::bench
