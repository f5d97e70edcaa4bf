// Load balancing among deployments of equal priority, and the random source it (and the retry
// backoff) draws from. The balancer orders a group in place: the first is tried first, the rest
// are the group's fallbacks in that order.
//
// Thread-safety: order_group reads DeploymentStats (atomics) and may run on any thread. A Random
// is not thread-safe; thread_random() gives each thread its own.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "llmux/config.hpp"
#include "router/deployment.hpp"

namespace llmux::router {

class Random {
 public:
  virtual ~Random() = default;
  virtual uint64_t next() noexcept = 0;
  // Uniform in [0, 1).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

// SplitMix64: tiny state, good enough spread for jitter and weighted picks.
class SplitMixRandom final : public Random {
 public:
  explicit SplitMixRandom(uint64_t seed) noexcept : state_(seed) {}
  uint64_t next() noexcept override;

 private:
  uint64_t state_;
};

// This thread's generator, seeded once from std::random_device.
Random& thread_random();

const char* strategy_name(BalanceStrategy strategy) noexcept;

// Orders `group` (deployments of one priority) for `strategy`:
// - priority: kept as configured;
// - weighted: a weighted random permutation (a deployment of weight 3 is first three times as
//   often as one of weight 1);
// - least_inflight: fewest attempts in flight first, ties in configured order;
// - lowest_latency: lowest time-to-first-token EWMA first; a deployment without samples first,
//   so it gets measured.
// No allocation; O(n^2) for weighted, meant for the handful of deployments a priority holds.
void order_group(std::span<const Deployment*> group, BalanceStrategy strategy, const DeploymentStats& stats,
                 Random& random) noexcept;

// Orders each run of equal priority in `chain` (already sorted by priority).
void order_chain(std::span<const Deployment*> chain, BalanceStrategy strategy, const DeploymentStats& stats,
                 Random& random) noexcept;

}  // namespace llmux::router
