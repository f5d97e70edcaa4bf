// Request metrics in Prometheus' text format. Each worker thread records into its own shard: no
// lock and no contended atomic on the request path. A scrape sums the shards.
//
// Thread-safety: MetricsShard::record is called only by the shard's owning thread; Metrics::render
// may run on any thread at the same time (counters are atomics the owner updates with plain
// load/store, and the shard's series map is locked only when the owner adds a series or a scrape
// walks it).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

namespace llmux::observability {

// Upper bounds of the request duration histogram, in seconds (LLM calls: milliseconds to minutes).
inline constexpr std::array<double, 13> kDurationBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                              1, 2.5, 5, 10, 30, 60};

struct RequestRecord {
  std::string_view provider;  // "" when the request failed before routing
  std::string_view model;     // configured model id; "" for unlisted or unresolved models
  int status = 0;             // HTTP status sent to the client
  std::chrono::nanoseconds duration{0};  // request read to response written
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  uint32_t stream_events_dropped = 0;  // unparseable events of a passed-through stream, not forwarded
  uint32_t stream_resumes = 0;         // continuations spliced into the client's stream (resume: prefill)
};

class MetricsShard {
 public:
  // Owner thread only.
  void record(const RequestRecord& r);

 private:
  friend class Metrics;
  // Written by one thread only, so an increment is a load and a store, not a locked add.
  struct Counter {
    std::atomic<uint64_t> value{0};
    void add(uint64_t n) { value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    uint64_t get() const { return value.load(std::memory_order_relaxed); }
  };
  struct Series {
    std::string provider, model;
    int status = 0;
    Counter requests, prompt_tokens, completion_tokens, duration_ns;
    Counter events_dropped, resumes;
    // Non-cumulative; the last one counts durations above every bound. The histogram's count is
    // their sum, so a scrape during a record never shows a bucket above +Inf.
    std::array<Counter, kDurationBuckets.size() + 1> buckets;
  };

  std::string key_;  // reused lookup key: provider '\0' model '\0' status
  boost::unordered_flat_map<std::string, std::unique_ptr<Series>> series_;
  mutable std::mutex shape_mutex_;  // held to insert into series_, or to walk it from a scrape
};

// The rate-limit and budget families, filled by the governance code that enforces them:
//   llmux_rate_limit_rejections_total{scope,name}   counter (scope: provider | key)
//   llmux_budget_spent_usd{scope,name,period}       gauge   (period: daily | monthly)
//   llmux_budget_cap_usd{scope,name,period}         gauge
// A family nothing registered into is left out of the exposition entirely.
//
// Thread-safety: all members may be called from any thread. rate_limit_rejections() takes a
// mutex (call it when a limit is set up, not per request); the counter it returns is a plain
// atomic, incremented lock-free from any thread, valid as long as this object.
class GovernanceMetrics {
 public:
  std::atomic<uint64_t>& rate_limit_rejections(std::string_view scope, std::string_view name);

  struct Budget {
    std::string scope, name, period;
    double spent_usd = 0, cap_usd = 0;
  };
  // Called at each scrape, on the scraping thread and with no lock of this object held, to append
  // the budgets as they are then; replaces the previous reader.
  using BudgetReader = std::function<void(std::vector<Budget>&)>;
  void set_budget_reader(BudgetReader reader);

  void render(std::string& out) const;

 private:
  struct Rejections {
    std::string scope, name;
    std::atomic<uint64_t> count{0};
  };
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Rejections>> rejections_;
  BudgetReader budgets_;
};

// The set of shards, one per worker; shards live as long as this object.
class Metrics {
 public:
  MetricsShard& add_shard();
  // Prometheus text exposition format 0.0.4, series summed over all shards.
  std::string render() const;

  GovernanceMetrics governance;

 private:
  mutable std::mutex shards_mutex_;
  std::vector<std::unique_ptr<MetricsShard>> shards_;
};

}  // namespace llmux::observability
