// Rate limits of one subject (a provider or a gateway key): requests per minute and per hour,
// tokens per minute, requests in flight. README "Rate limits and budgets".
//
// Accuracy. A window is kBuckets buckets (one second each for the per-minute limits, one minute
// each for rph): the bucket `now` falls in and the 59 before it. An admission is counted in the
// bucket it happened in and leaves the window when that bucket does, i.e. between 59 and 60
// seconds (59 and 60 minutes for rph) after it. The limit is never exceeded inside that window:
// the count is reserved with one atomic add on the window's total and rolled back when it went
// over, so concurrent admissions cannot overshoot (racing admissions near the limit may both be
// refused: conservative, never generous). Retry-After is exact for that window: the time until
// enough of the oldest buckets leave it.
//
// Tokens per minute are reserved as an estimate at admission (settle() replaces it by the real
// count, while its bucket is still in the window); an estimate above the limit is reserved as the
// limit, so one large request is admitted into an empty window instead of never.
//
// Thread-safety: every member may be called from any thread; no locks (atomics only).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "llmux/config.hpp"
#include "router/clock.hpp"

namespace llmux::governance {

class SlidingWindow {
 public:
  static constexpr uint32_t kBuckets = 60;
  explicit SlidingWindow(std::chrono::milliseconds bucket) noexcept : bucket_ms_(bucket.count()) {}

  // Adds `n` when the window's count plus `n` stays within `limit`; `at` is the bucket it went to.
  bool try_add(uint32_t n, uint32_t limit, router::SteadyTime now, uint32_t& at) noexcept;
  // Corrects an earlier add in bucket `at` by `delta` (nothing when that bucket has left).
  void adjust(uint32_t at, int64_t delta) noexcept;
  // How long until `n` more fit within `limit` (zero: now).
  std::chrono::milliseconds wait_for(uint32_t n, uint32_t limit, router::SteadyTime now) const noexcept;
  // What the window holds at `now`.
  uint64_t count(router::SteadyTime now) const noexcept;

 private:
  uint32_t epoch_of(router::SteadyTime now) const noexcept;
  void expire(uint32_t epoch) noexcept;
  void add_to_bucket(uint32_t epoch, uint32_t n) noexcept;

  // Each bucket: its epoch (high 32 bits; 0 = never used) and its count (low 32 bits).
  std::atomic<uint64_t> buckets_[kBuckets] = {};
  std::atomic<int64_t> total_{0};             // counts of the buckets not yet expired
  std::atomic<uint32_t> expired_through_{0};  // every bucket of an epoch up to this one is expired
  int64_t bucket_ms_;
};

// What an admission holds until it is settled.
struct LimitTicket {
  bool held = false;
  bool concurrent = false;
  uint32_t minute_at = 0, hour_at = 0, tokens_at = 0;
  uint32_t tokens = 0;  // reserved
};

struct LimitVerdict {
  bool admitted = true;
  std::chrono::milliseconds retry_after{0};  // when refused: until the window admits again
  const char* limit = "";                    // when refused: "rpm", "rph", "tpm" or "concurrent"
};

// One subject's limiter. The interface a shared (Redis) implementation replaces.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Counts one request and `tokens` (an estimate) against `limits`; all or nothing.
  virtual LimitVerdict acquire(const RateLimits& limits, uint32_t tokens, router::SteadyTime now,
                               LimitTicket& ticket) noexcept = 0;
  // The request ended with `real_tokens`: its estimate is corrected, its concurrency slot freed.
  virtual void settle(LimitTicket& ticket, uint32_t real_tokens) noexcept = 0;
};

class LocalRateLimiter final : public RateLimiter {
 public:
  LimitVerdict acquire(const RateLimits& limits, uint32_t tokens, router::SteadyTime now,
                       LimitTicket& ticket) noexcept override;
  void settle(LimitTicket& ticket, uint32_t real_tokens) noexcept override;

  uint32_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
  uint64_t requests_last_minute(router::SteadyTime now) const noexcept { return minute_.count(now); }
  uint64_t tokens_last_minute(router::SteadyTime now) const noexcept { return tokens_.count(now); }

 private:
  SlidingWindow minute_{std::chrono::seconds(1)};
  SlidingWindow hour_{std::chrono::minutes(1)};
  SlidingWindow tokens_{std::chrono::seconds(1)};
  std::atomic<uint32_t> in_flight_{0};
};

// With concurrent requests the wait is unknown (it ends when one of them does): this is said.
inline constexpr std::chrono::milliseconds kConcurrencyRetry{1000};

}  // namespace llmux::governance
