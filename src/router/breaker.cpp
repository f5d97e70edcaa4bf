#include "router/breaker.hpp"

#include <algorithm>

#include "providers/provider.hpp"

namespace llmux::router {

namespace {

int64_t ticks(SteadyTime t) noexcept { return t.time_since_epoch().count(); }
SteadyTime from_ticks(int64_t t) noexcept { return SteadyTime(SteadyClock::duration(t)); }

}  // namespace

const char* breaker_state_name(BreakerState s) noexcept {
  switch (s) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
  }
  return "closed";
}

std::string describe(const BreakerEvent& event, std::string_view label) {
  std::string out = "breaker " + std::string(label) + ": " + breaker_state_name(event.from) + " -> " +
                    breaker_state_name(event.to) + " (" + std::string(event.reason) + ")";
  if (event.to == BreakerState::open)
    out += ", next probe in " +
           providers::format_duration(std::chrono::duration_cast<Millis>(event.open_until - event.at));
  return out;
}

std::shared_ptr<LocalBreakerStore::Slot> LocalBreakerStore::make_slot(const BreakerConfig& config) {
  auto slot = std::make_shared<Slot>();
  slot->window.set_window(config.window);
  return slot;
}

LocalBreakerStore::LocalBreakerStore(size_t slots, const BreakerConfig& config, EventSink sink)
    : config_(config), sink_(std::move(sink)) {
  slots_.reserve(std::max<size_t>(slots, 1));
  while (slots_.size() < std::max<size_t>(slots, 1)) slots_.push_back(make_slot(config));
}

LocalBreakerStore::LocalBreakerStore(std::vector<std::shared_ptr<Slot>> slots, const BreakerConfig& config,
                                     EventSink sink)
    : slots_(std::move(slots)), config_(config), sink_(std::move(sink)) {
  if (slots_.empty()) slots_.push_back(make_slot(config));
}

LocalBreakerStore::~LocalBreakerStore() = default;

void LocalBreakerStore::emit(const BreakerEvent& event) noexcept {
  if (!sink_) return;
  try {
    sink_(event);
  } catch (...) {
    // A failing log sink must not take a request down with it.
  }
}

void LocalBreakerStore::open(uint32_t slot, Slot& s, BreakerState from, SteadyTime now, Millis retry_after,
                             std::string_view reason) noexcept {
  SteadyTime until = now + std::max(config_.cooldown, retry_after);
  s.open_until.store(ticks(until), std::memory_order_release);
  if (!s.state.compare_exchange_strong(from, BreakerState::open, std::memory_order_acq_rel)) return;
  s.probe_started.store(0, std::memory_order_relaxed);
  emit({slot, from, BreakerState::open, reason, now, until});
}

Admission LocalBreakerStore::admit(uint32_t slot, SteadyTime now) noexcept {
  Slot& s = at(slot);
  BreakerState state = s.state.load(std::memory_order_acquire);
  if (state == BreakerState::closed) return {};
  int64_t t = ticks(now);
  if (state == BreakerState::open) {
    int64_t until = s.open_until.load(std::memory_order_acquire);
    if (t < until) return {Admission::Verdict::rejected, from_ticks(until)};
    if (s.state.compare_exchange_strong(state, BreakerState::half_open, std::memory_order_acq_rel)) {
      s.probe_started.store(t, std::memory_order_release);
      emit({slot, BreakerState::open, BreakerState::half_open, "cooldown over, admitting one probe", now, {}});
      return {Admission::Verdict::probe, {}};
    }
    if (state == BreakerState::closed) return {};
  }
  // Half-open: one probe at a time. A probe that never reported (its request vanished without
  // release) is replaced after a cooldown, so the breaker cannot stay half-open forever.
  int64_t started = s.probe_started.load(std::memory_order_acquire);
  int64_t stale = std::chrono::duration_cast<SteadyClock::duration>(config_.cooldown).count();
  if ((started == 0 || t - started >= stale) &&
      s.probe_started.compare_exchange_strong(started, t, std::memory_order_acq_rel))
    return {Admission::Verdict::probe, {}};
  return {Admission::Verdict::rejected, from_ticks((started ? started : t) + stale)};
}

void LocalBreakerStore::record_success(uint32_t slot, SteadyTime now) noexcept {
  Slot& s = at(slot);
  if (s.consecutive.load(std::memory_order_relaxed) != 0) s.consecutive.store(0, std::memory_order_relaxed);
  s.window.add(now, false);
  BreakerState state = s.state.load(std::memory_order_acquire);
  if (state == BreakerState::closed) return;
  // A success closes a half-open breaker; one that reaches an open breaker (an attempt admitted
  // before it opened) closes it too: the deployment answers.
  if (s.state.compare_exchange_strong(state, BreakerState::closed, std::memory_order_acq_rel)) {
    s.probe_started.store(0, std::memory_order_relaxed);
    emit({slot, state, BreakerState::closed, state == BreakerState::half_open ? "probe succeeded" : "request succeeded",
          now, {}});
  }
}

void LocalBreakerStore::record_failure(uint32_t slot, SteadyTime now, Millis retry_after) noexcept {
  Slot& s = at(slot);
  int32_t consecutive = s.consecutive.fetch_add(1, std::memory_order_relaxed) + 1;
  s.window.add(now, true);
  BreakerState state = s.state.load(std::memory_order_acquire);
  if (state == BreakerState::half_open) return open(slot, s, state, now, retry_after, "probe failed");
  if (state == BreakerState::open) {
    // Keep it open at least as long as the latest Retry-After asks.
    int64_t wanted = ticks(now + retry_after);
    int64_t until = s.open_until.load(std::memory_order_relaxed);
    while (wanted > until && !s.open_until.compare_exchange_weak(until, wanted, std::memory_order_acq_rel)) {}
    return;
  }
  if (consecutive >= config_.consecutive_failures)
    return open(slot, s, state, now, retry_after, "consecutive failures");
  auto [attempts, failures] = s.window.totals(now);
  if (attempts >= static_cast<uint32_t>(config_.min_requests) &&
      static_cast<double>(failures) >= config_.error_rate * static_cast<double>(attempts))
    open(slot, s, state, now, retry_after, "error rate over the window");
}

void LocalBreakerStore::release(uint32_t slot, bool was_probe) noexcept {
  if (!was_probe) return;
  Slot& s = at(slot);
  if (s.state.load(std::memory_order_acquire) == BreakerState::half_open)
    s.probe_started.store(0, std::memory_order_release);
}

void LocalBreakerStore::record_probe(uint32_t slot, bool ok, SteadyTime now) noexcept {
  if (!ok) return record_failure(slot, now, Millis(0));
  Slot& s = at(slot);
  // The provider answers again: end the cooldown; the next request is the half-open probe (a
  // model listing says the server is up, not that this model answers, so it does not close).
  if (s.state.load(std::memory_order_acquire) == BreakerState::open)
    s.open_until.store(std::min(s.open_until.load(std::memory_order_relaxed), ticks(now)), std::memory_order_release);
}

void LocalBreakerStore::trip(uint32_t slot, SteadyTime now, std::string_view reason) noexcept {
  Slot& s = at(slot);
  BreakerState state = s.state.load(std::memory_order_acquire);
  if (state != BreakerState::open) return open(slot, s, state, now, Millis(0), reason);
  int64_t wanted = ticks(now + config_.cooldown);
  int64_t until = s.open_until.load(std::memory_order_relaxed);
  while (wanted > until && !s.open_until.compare_exchange_weak(until, wanted, std::memory_order_acq_rel)) {}
}

BreakerStatus LocalBreakerStore::status(uint32_t slot, SteadyTime now) const noexcept {
  const Slot& s = at(slot);
  BreakerStatus out;
  out.state = s.state.load(std::memory_order_acquire);
  out.consecutive_failures = s.consecutive.load(std::memory_order_relaxed);
  if (out.state == BreakerState::open) out.open_until = from_ticks(s.open_until.load(std::memory_order_acquire));
  auto totals = s.window.totals(now);
  out.window_attempts = totals.attempts;
  out.window_failures = totals.failures;
  return out;
}

}  // namespace llmux::router
