// Attempts and failures over a sliding time window, in ten buckets, updated by many threads
// without a lock. Approximate by design: an update racing with a bucket's reuse may be lost.
//
// Thread-safety: all members may be called from any thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "router/clock.hpp"

namespace llmux::router {

class WindowCounter {
 public:
  static constexpr int kBuckets = 10;

  struct Totals {
    uint32_t attempts = 0;
    uint32_t failures = 0;
  };

  explicit WindowCounter(Millis window = Millis(30000)) noexcept { set_window(window); }
  void set_window(Millis window) noexcept {
    bucket_ticks_ = std::max<int64_t>(std::chrono::duration_cast<SteadyClock::duration>(window).count() / kBuckets, 1);
  }

  void add(SteadyTime now, bool failed) noexcept {
    int64_t epoch = now.time_since_epoch().count() / bucket_ticks_;
    Bucket& b = buckets_[epoch % kBuckets];
    int64_t seen = b.epoch.load(std::memory_order_acquire);
    // Whoever moves a bucket to a new epoch empties it.
    if (seen != epoch && b.epoch.compare_exchange_strong(seen, epoch, std::memory_order_acq_rel)) {
      b.attempts.store(0, std::memory_order_relaxed);
      b.failures.store(0, std::memory_order_relaxed);
    }
    b.attempts.fetch_add(1, std::memory_order_relaxed);
    if (failed) b.failures.fetch_add(1, std::memory_order_relaxed);
  }

  Totals totals(SteadyTime now) const noexcept {
    int64_t epoch = now.time_since_epoch().count() / bucket_ticks_;
    Totals t;
    for (const Bucket& b : buckets_) {
      int64_t e = b.epoch.load(std::memory_order_acquire);
      if (e < 0 || e > epoch || epoch - e >= kBuckets) continue;
      t.attempts += b.attempts.load(std::memory_order_relaxed);
      t.failures += b.failures.load(std::memory_order_relaxed);
    }
    return t;
  }

 private:
  struct Bucket {
    std::atomic<int64_t> epoch{-1};
    std::atomic<uint32_t> attempts{0};
    std::atomic<uint32_t> failures{0};
  };
  Bucket buckets_[kBuckets];
  int64_t bucket_ticks_ = 1;
};

}  // namespace llmux::router
