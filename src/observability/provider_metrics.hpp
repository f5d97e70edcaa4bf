// Per-provider request metrics: what GET /api/providers/{name}/metrics reports (the seeds'
// ProviderMetrics) and the per-provider families of /metrics. One ProviderMeter per provider,
// recorded into once per request when the request ends; a ProviderMeterStore hands the meters
// to each config snapshot, so a reload keeps the meters of the providers that stay.
//
// The in-process implementation (LocalProviderMeterStore) is the first one; a later issue shares
// meters across replicas behind the same two interfaces.
//
// Thread-safety: every member of every class here may be called from any thread at once.
// ProviderMeter::record is the request path's call: in LocalProviderMeter it touches only atomics
// (no lock, no allocation), except the first time an error type is seen, which takes a mutex to
// claim that type's slot. read() and ProviderMeterStore::bind are off the request path.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "router/clock.hpp"
#include "router/window_counter.hpp"

namespace llmux::observability {

// Upper bounds of the latency histograms, in microseconds: log-spaced, two per octave
// (0.25 ms · {1, 1.5} · 2^k) from 0.25 ms to about 197 s. A value above the last bound lands in
// the overflow bucket.
inline constexpr size_t kLatencyBucketCount = 40;
inline constexpr std::array<int64_t, kLatencyBucketCount> kLatencyBoundsUs = [] {
  std::array<int64_t, kLatencyBucketCount> bounds{};
  int64_t base = 250;
  for (size_t i = 0; i < kLatencyBucketCount; i += 2) {
    bounds[i] = base;
    bounds[i + 1] = base + base / 2;
    base *= 2;
  }
  return bounds;
}();

// A lock-free latency histogram over kLatencyBoundsUs.
class LatencyHistogram {
 public:
  struct Snapshot {
    std::array<uint64_t, kLatencyBucketCount + 1> counts{};  // not cumulative; last = overflow
    uint64_t count = 0;
    int64_t sum_us = 0;
    // The q-quantile (0 < q <= 1) in milliseconds, interpolated linearly inside its bucket; 0
    // when empty. Always inside the bucket that holds the q-th value.
    double quantile_ms(double q) const noexcept;
    double average_ms() const noexcept { return count ? static_cast<double>(sum_us) / 1000.0 / count : 0; }
  };

  void record(int64_t us) noexcept;
  Snapshot snapshot() const noexcept;
  static size_t bucket_of(int64_t us) noexcept;

 private:
  std::array<std::atomic<uint64_t>, kLatencyBucketCount + 1> counts_{};
  std::atomic<int64_t> sum_us_{0};
};

// One finished request as a provider's meter sees it.
struct ProviderSample {
  bool failed = false;           // answered with a status >= 400 (499: the client left)
  std::string_view error_type;   // of a failed request; "" counts as "unknown"
  int64_t latency_us = 0;        // arrival to the end of the answer
  std::optional<int64_t> ttft_us;       // arrival to the first content sent
  std::optional<int64_t> upstream_us;   // the last attempt: sent upstream to its end
  int64_t cost_nano_usd = 0;
  int64_t tokens = 0;            // input + output
};

// What a meter knows, at one moment.
struct ProviderMetricsSnapshot {
  std::string provider_id;
  uint64_t total = 0, failed = 0;
  uint64_t window_requests = 0, window_failures = 0;  // in the last minute
  int64_t cost_nano_usd = 0;
  uint64_t tokens = 0;
  std::vector<std::pair<std::string, uint64_t>> errors_by_type;  // in the order first seen
  LatencyHistogram::Snapshot latency, ttft, upstream;
};

class ProviderMeter {
 public:
  virtual ~ProviderMeter() = default;
  virtual void record(const ProviderSample& sample, router::SteadyTime now) noexcept = 0;
  virtual ProviderMetricsSnapshot read(router::SteadyTime now) const = 0;
};

class ProviderMeterStore {
 public:
  struct Key {
    std::string identity;     // the provider's upstream identity (id, URL, credential hash, ...)
    std::string provider_id;  // as reported
  };
  virtual ~ProviderMeterStore() = default;
  // The meters of `providers`, in their order: the same meter as before for an identity seen in
  // the previous bind, a fresh one otherwise; meters of identities not named are dropped (a
  // snapshot still using one keeps it alive).
  virtual std::vector<std::shared_ptr<ProviderMeter>> bind(std::span<const Key> providers) = 0;
};

class LocalProviderMeter final : public ProviderMeter {
 public:
  // Distinct error types kept per provider; later ones are counted under "other".
  static constexpr size_t kErrorTypeSlots = 16;
  static constexpr size_t kErrorTypeLength = 48;

  explicit LocalProviderMeter(std::string provider_id);
  void record(const ProviderSample& sample, router::SteadyTime now) noexcept override;
  ProviderMetricsSnapshot read(router::SteadyTime now) const override;

 private:
  struct ErrorSlot {
    char name[kErrorTypeLength] = {};
    uint8_t length = 0;
    std::atomic<uint64_t> count{0};
  };
  std::atomic<uint64_t>& error_counter(std::string_view type) noexcept;

  const std::string provider_id_;
  std::atomic<uint64_t> total_{0}, failed_{0}, tokens_{0}, other_errors_{0};
  std::atomic<int64_t> cost_nano_usd_{0};
  router::WindowCounter last_minute_{router::Millis(60000)};
  LatencyHistogram latency_, ttft_, upstream_;
  std::array<ErrorSlot, kErrorTypeSlots> errors_;
  std::atomic<size_t> errors_published_{0};  // slots [0, n) have their name written
  std::mutex claim_mutex_;                   // held only to claim a new error type's slot
};

class LocalProviderMeterStore final : public ProviderMeterStore {
 public:
  std::vector<std::shared_ptr<ProviderMeter>> bind(std::span<const Key> providers) override;

 private:
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::shared_ptr<ProviderMeter>>> meters_;  // identity, meter
};

// GET /api/providers/{name}/metrics: the seeds' ProviderMetrics of one provider.
//   {"providerId","requests":{"total","successful","failed","rate"},"latency":{"average","p95","p99"},
//    "costs":{"total","perRequest","perToken"},"errors":{"total","byType","rate"},
//    "availability":{"uptime","lastCheck","status"}}
// Rates per minute (last 60 s), latency in ms, costs in USD, uptime a percentage.
struct Availability {
  std::optional<double> uptime_percent;
  std::optional<std::string> last_check;  // ISO 8601
  std::string_view status;
};
std::string provider_metrics_json(const ProviderMetricsSnapshot& m, const Availability& availability);

}  // namespace llmux::observability
