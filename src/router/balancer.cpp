#include "router/balancer.hpp"

#include <algorithm>
#include <random>

namespace llmux::router {

uint64_t SplitMixRandom::next() noexcept {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

Random& thread_random() {
  thread_local SplitMixRandom random{(static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()};
  return random;
}

const char* strategy_name(BalanceStrategy strategy) noexcept {
  switch (strategy) {
    case BalanceStrategy::priority: return "priority";
    case BalanceStrategy::weighted: return "weighted";
    case BalanceStrategy::least_inflight: return "least_inflight";
    case BalanceStrategy::lowest_latency: return "lowest_latency";
  }
  return "priority";
}

namespace {

void weighted_permutation(std::span<const Deployment*> group, Random& random) noexcept {
  for (size_t first = 0; first + 1 < group.size(); ++first) {
    int64_t total = 0;
    for (size_t i = first; i < group.size(); ++i) total += std::max(group[i]->weight, 1);
    auto pick = static_cast<int64_t>(random.uniform() * static_cast<double>(total));
    size_t chosen = first;
    for (size_t i = first; i < group.size(); ++i) {
      pick -= std::max(group[i]->weight, 1);
      if (pick < 0) {
        chosen = i;
        break;
      }
    }
    // Rotate rather than swap so the others keep their relative (configured) order.
    std::rotate(group.begin() + static_cast<ptrdiff_t>(first), group.begin() + static_cast<ptrdiff_t>(chosen),
                group.begin() + static_cast<ptrdiff_t>(chosen) + 1);
  }
}

}  // namespace

void order_group(std::span<const Deployment*> group, BalanceStrategy strategy, const DeploymentStats& stats,
                 Random& random) noexcept {
  if (group.size() < 2) return;
  switch (strategy) {
    case BalanceStrategy::priority: return;
    case BalanceStrategy::weighted: return weighted_permutation(group, random);
    case BalanceStrategy::least_inflight:
      // Insertion sort: stable, allocation-free (std::stable_sort may allocate a buffer).
      for (size_t i = 1; i < group.size(); ++i)
        for (size_t j = i; j > 0 && stats.inflight(group[j]->slot) < stats.inflight(group[j - 1]->slot); --j)
          std::swap(group[j], group[j - 1]);
      return;
    case BalanceStrategy::lowest_latency:
      for (size_t i = 1; i < group.size(); ++i)
        for (size_t j = i; j > 0 && stats.ttft_ewma(group[j]->slot) < stats.ttft_ewma(group[j - 1]->slot); --j)
          std::swap(group[j], group[j - 1]);
      return;
  }
}

void order_chain(std::span<const Deployment*> chain, BalanceStrategy strategy, const DeploymentStats& stats,
                 Random& random) noexcept {
  size_t begin = 0;
  while (begin < chain.size()) {
    size_t end = begin + 1;
    while (end < chain.size() && chain[end]->priority == chain[begin]->priority) ++end;
    order_group(chain.subspan(begin, end - begin), strategy, stats, random);
    begin = end;
  }
}

}  // namespace llmux::router
