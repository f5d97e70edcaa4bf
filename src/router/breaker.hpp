// Circuit breakers, one per deployment slot (RouteTable::slots()), shared by all worker threads.
//
// closed --(N consecutive failures, or error rate over the window)--> open
// open --(cooldown passed: at least breaker.cooldown and the Retry-After seen)--> half_open
// half_open: admits exactly one probe request; its success closes, its failure re-opens.
//
// BreakerStore is the interface the planner uses, so a store shared between gateway instances
// (Redis) can replace the in-process one. State changes are reported to an event sink.
//
// A LocalBreakerStore's per-deployment state lives in shared Slot objects: a store built for a
// new config snapshot from the previous one's slots continues their state (a reload keeps the
// breakers of the deployments that stay).
//
// Thread-safety: every BreakerStore member may be called from any thread. LocalBreakerStore uses
// atomics only: admitting a request to a closed breaker is one atomic load, recording a success
// two relaxed atomic operations; no lock anywhere. The event sink is called on the thread that
// caused the change and must be thread-safe itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/config.hpp"
#include "router/clock.hpp"
#include "router/window_counter.hpp"

namespace llmux::router {

enum class BreakerState : uint8_t { closed, open, half_open };
const char* breaker_state_name(BreakerState s) noexcept;

struct Admission {
  enum class Verdict : uint8_t { allowed, probe, rejected };
  Verdict verdict = Verdict::allowed;
  SteadyTime retry_at{};  // rejected: when the breaker admits its next probe

  bool admitted() const noexcept { return verdict != Verdict::rejected; }
};

struct BreakerStatus {
  BreakerState state = BreakerState::closed;
  int consecutive_failures = 0;
  SteadyTime open_until{};       // open: when it goes half-open
  uint32_t window_attempts = 0;  // attempts recorded in the error-rate window
  uint32_t window_failures = 0;
};

struct BreakerEvent {
  uint32_t slot = 0;
  BreakerState from = BreakerState::closed;
  BreakerState to = BreakerState::closed;
  std::string_view reason;  // "5 consecutive failures", "error rate", "probe failed", "probe succeeded", ...
  SteadyTime at{};
  SteadyTime open_until{};  // to == open
};

// "breaker a/gpt-4o: closed -> open (5 consecutive failures), next probe in 30s"
std::string describe(const BreakerEvent& event, std::string_view label);

class BreakerStore {
 public:
  virtual ~BreakerStore() = default;
  virtual Admission admit(uint32_t slot, SteadyTime now) noexcept = 0;
  virtual void record_success(uint32_t slot, SteadyTime now) noexcept = 0;
  // `retry_after`: what the provider asked for (0 = nothing); an opening breaker stays open at
  // least this long.
  virtual void record_failure(uint32_t slot, SteadyTime now, Millis retry_after) noexcept = 0;
  // An admitted attempt ended without an outcome (client left, shutdown): a half-open probe is
  // given back so the next request can probe.
  virtual void release(uint32_t slot, bool was_probe) noexcept = 0;
  // A health probe of the slot's provider: a failure counts like a failed attempt; a success
  // lets an open breaker admit its probe request now instead of at the end of its cooldown.
  virtual void record_probe(uint32_t slot, bool ok, SteadyTime now) noexcept = 0;
  // The slot's provider is down (its health probes keep failing): open now for a cooldown, or
  // stay open at least that long.
  virtual void trip(uint32_t slot, SteadyTime now, std::string_view reason) noexcept = 0;
  virtual BreakerStatus status(uint32_t slot, SteadyTime now) const noexcept = 0;
};

class LocalBreakerStore final : public BreakerStore {
 public:
  using EventSink = std::function<void(const BreakerEvent&)>;

  // One deployment's breaker. Shared by every store built from it; all fields are atomics.
  struct alignas(64) Slot {
    std::atomic<BreakerState> state{BreakerState::closed};
    std::atomic<int32_t> consecutive{0};
    std::atomic<int64_t> open_until{0};     // steady ticks
    std::atomic<int64_t> probe_started{0};  // steady ticks; 0 = no probe in flight
    WindowCounter window;
  };
  // A closed breaker for `config` (its error-rate window is fixed here: slots are shared only
  // between stores of one breaker config).
  static std::shared_ptr<Slot> make_slot(const BreakerConfig& config);

  LocalBreakerStore(size_t slots, const BreakerConfig& config, EventSink sink = {});
  // Continues the state of `slots` (slot i of this store is slots[i]); made with make_slot for
  // the same `config`.
  LocalBreakerStore(std::vector<std::shared_ptr<Slot>> slots, const BreakerConfig& config, EventSink sink = {});
  ~LocalBreakerStore() override;

  Admission admit(uint32_t slot, SteadyTime now) noexcept override;
  void record_success(uint32_t slot, SteadyTime now) noexcept override;
  void record_failure(uint32_t slot, SteadyTime now, Millis retry_after) noexcept override;
  void release(uint32_t slot, bool was_probe) noexcept override;
  void record_probe(uint32_t slot, bool ok, SteadyTime now) noexcept override;
  void trip(uint32_t slot, SteadyTime now, std::string_view reason) noexcept override;
  BreakerStatus status(uint32_t slot, SteadyTime now) const noexcept override;

  const std::shared_ptr<Slot>& shared_slot(uint32_t slot) const noexcept { return slots_[slot < slots_.size() ? slot : 0]; }

 private:
  Slot& at(uint32_t slot) const noexcept { return *shared_slot(slot); }
  void open(uint32_t slot, Slot& s, BreakerState from, SteadyTime now, Millis retry_after,
            std::string_view reason) noexcept;
  void emit(const BreakerEvent& event) noexcept;

  std::vector<std::shared_ptr<Slot>> slots_;  // never empty
  BreakerConfig config_;
  EventSink sink_;
};

}  // namespace llmux::router
