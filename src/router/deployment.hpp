// A deployment is one place a model is served: a provider plus the upstream model id it is sent.
// Deployments are built once per config snapshot (router::RouteTable) and immutable afterwards.
// The live numbers the load balancer reads (in-flight count, time-to-first-token EWMA) are
// atomics in DeploymentStats, shared by all worker threads without a lock.
//
// Thread-safety: Deployment is immutable (any thread). DeploymentStats: every member function may
// be called from any thread at any time; updates are relaxed atomics (a lost EWMA update under a
// race only delays the average by one sample, which a balancer tolerates).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmux/config.hpp"
#include "providers/provider.hpp"

namespace llmux::router {

struct Deployment {
  const providers::Provider* provider = nullptr;
  const ModelConfig* model = nullptr;  // null for a pass-through provider (no listed models)
  std::string upstream_model;          // what the provider is sent
  std::string label;                   // "provider/model" as clients name it, for x-llmux-attempts
  int priority = 1;                    // 1 = first
  int weight = 1;
  bool resume_prefill = false;  // may continue a broken stream (resume: prefill)
  // Index into the breaker and stats tables. Deployments of a pass-through provider built for a
  // request share their provider's slot.
  uint32_t slot = 0;

  std::optional<int64_t> context_window() const { return model ? model->context_window : std::nullopt; }
  const std::string& provider_id() const { return provider->id(); }
};

class DeploymentStats {
 public:
  // One deployment's numbers; one cache line each, so worker threads updating different
  // deployments do not contend. Shared by every DeploymentStats built from it (a config reload
  // keeps the numbers of the deployments that stay, and in-flight counts stay right while
  // requests of the old snapshot finish).
  struct alignas(64) Slot {
    std::atomic<int64_t> inflight{0};
    std::atomic<int64_t> ttft_us{0};
  };

  explicit DeploymentStats(size_t slots) {
    slots_.reserve(slots ? slots : 1);
    while (slots_.size() < (slots ? slots : 1)) slots_.push_back(std::make_shared<Slot>());
  }
  // Continues `slots` (slot i of this table is slots[i]).
  explicit DeploymentStats(std::vector<std::shared_ptr<Slot>> slots) : slots_(std::move(slots)) {
    if (slots_.empty()) slots_.push_back(std::make_shared<Slot>());
  }

  size_t size() const noexcept { return slots_.size(); }
  const std::shared_ptr<Slot>& shared_slot(uint32_t slot) const noexcept {
    return slots_[slot < slots_.size() ? slot : 0];
  }

  void begin_attempt(uint32_t slot) noexcept { at(slot).inflight.fetch_add(1, std::memory_order_relaxed); }
  void end_attempt(uint32_t slot) noexcept { at(slot).inflight.fetch_sub(1, std::memory_order_relaxed); }
  int64_t inflight(uint32_t slot) const noexcept { return at(slot).inflight.load(std::memory_order_relaxed); }

  // Time to first token of a successful attempt; EWMA with alpha = 1/8 (the first sample is
  // taken as is).
  void record_first_token(uint32_t slot, std::chrono::microseconds ttft) noexcept;
  // 0 = no sample yet (such a deployment sorts first under lowest_latency, so it gets measured).
  std::chrono::microseconds ttft_ewma(uint32_t slot) const noexcept {
    return std::chrono::microseconds(at(slot).ttft_us.load(std::memory_order_relaxed));
  }

 private:
  Slot& at(uint32_t slot) const noexcept { return *shared_slot(slot); }

  std::vector<std::shared_ptr<Slot>> slots_;  // never empty
};

}  // namespace llmux::router
