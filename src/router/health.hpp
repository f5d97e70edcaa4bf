// Provider health: status healthy | degraded | down from periodic probes and live traffic,
// uptime over a window, last check, last error, latency; state changes as events (for the log
// and the alerts.webhook payload); the probe schedule; the JSON of GET /api/providers/health and
// GET /api/providers.
//
// Status rules (evaluated on every probe result and live failure):
//   down      the last 3 probes failed, or 5 live attempts failed in a row with none succeeding
//   degraded  the last probe failed, or it was slower than health.degraded_latency, or a quarter
//             of the window's live attempts (at least 10) failed
//   healthy   otherwise, once a probe or a live attempt succeeded
//   unknown   nothing known yet
//
// A provider's health lives in a shared Record: a monitor built for a new config snapshot from the
// previous one's records continues them (a reload keeps the health of the providers that stay).
//
// Probes and breakers: a failed probe counts as a failed attempt on each of the provider's
// breakers, and once the provider is down (3 probes failed in a row) its breakers are tripped
// open, and kept open while the probes keep failing. A successful probe does not close a breaker
// (a model listing says the server is up, not that a model answers): it ends an open breaker's
// cooldown, so the next request is the half-open probe that closes it.
//
// Thread-safety: all HealthMonitor and ProbeScheduler members may be called from any thread.
// record_traffic on a healthy provider touches only atomics (no lock); probe results, live
// failures and snapshots take the provider's Record mutex. Event sinks are called without it held.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/config.hpp"
#include "providers/provider.hpp"
#include "router/breaker.hpp"
#include "router/clock.hpp"
#include "router/route_table.hpp"
#include "router/window_counter.hpp"

namespace llmux::router {

enum class HealthStatus : uint8_t { unknown, healthy, degraded, down };
const char* health_status_name(HealthStatus s) noexcept;

struct ProbeResult {
  bool ok = false;
  Millis latency{0};
  std::string error;  // why it failed, safe to show (no credentials)
  WallTime checked_at{};
};

struct HealthEvent {
  std::string provider;
  HealthStatus from = HealthStatus::unknown;
  HealthStatus to = HealthStatus::unknown;
  std::string reason;
  WallTime time{};
};

// {"provider":"a","from":"healthy","to":"down","reason":"...","time":"2025-01-02T03:04:05Z"}
std::string alert_payload_json(const HealthEvent& event);
// "2025-01-02T03:04:05Z"
std::string iso8601(WallTime time);

struct HealthSnapshot {
  std::string provider;
  HealthStatus status = HealthStatus::unknown;
  std::optional<double> uptime_percent;  // share of successful probes (or live attempts) in the window
  std::optional<WallTime> last_check;
  std::string last_error;
  std::optional<Millis> latency;  // of the last successful probe
  int consecutive_probe_failures = 0;
  uint32_t window_attempts = 0;  // live traffic in the window
  uint32_t window_failures = 0;
};

class HealthMonitor {
 public:
  using EventSink = std::function<void(const HealthEvent&)>;

  // One provider's health. Shared by every monitor built from it; its window is fixed at
  // creation, so records are shared only between monitors of one health.window.
  struct Record {
    std::string id;
    std::atomic<HealthStatus> status{HealthStatus::unknown};
    std::atomic<int32_t> live_failures_in_row{0};
    WindowCounter traffic;
    mutable std::mutex mutex;  // guards the fields below
    std::deque<std::pair<SteadyTime, bool>> probes;  // within the window
    int probe_failures_in_row = 0;
    std::optional<WallTime> last_check;
    std::optional<Millis> latency;
    bool last_probe_slow = false;
    std::string last_error;
  };
  static std::shared_ptr<Record> make_record(std::string provider_id, const HealthConfig& config);

  HealthMonitor(std::vector<std::string> provider_ids, const HealthConfig& config, EventSink sink = {});
  // Continues `records` (provider i of this monitor is records[i]).
  HealthMonitor(std::vector<std::shared_ptr<Record>> records, const HealthConfig& config, EventSink sink = {});

  const std::shared_ptr<Record>& shared_record(size_t provider) const noexcept { return providers_[provider]; }

  // Index of a provider id; nullopt when unknown.
  std::optional<size_t> index_of(std::string_view provider) const noexcept;
  size_t size() const noexcept { return providers_.size(); }

  void record_probe(size_t provider, const ProbeResult& result, SteadyTime now);
  // A live attempt's outcome (transient or unavailable failures count; request rejections are
  // the request's fault and are reported as successes). `error` is used only when failed.
  void record_traffic(size_t provider, bool ok, SteadyTime now, std::string_view error = {}, WallTime wall = {});

  HealthSnapshot snapshot(size_t provider, SteadyTime now) const;
  HealthStatus status(size_t provider) const noexcept;

 private:
  using Provider = Record;

  // Re-evaluates under p.mutex; returns the event to emit, if the status changed.
  std::optional<HealthEvent> evaluate(Provider& p, SteadyTime now, WallTime wall, std::string_view why);
  void emit(std::optional<HealthEvent> event);

  HealthConfig config_;
  std::vector<std::shared_ptr<Provider>> providers_;
  EventSink sink_;
};

// Starts each provider's probe every health.interval (the first ones spread over one interval so
// they do not all fire at once), never two at a time for one provider; results go to the monitor
// and, through `slot_providers`, to the breakers of every deployment of that provider.
class ProbeScheduler {
 public:
  using Done = std::function<void(ProbeResult)>;
  // Starts the probe of provider `index` (HealthMonitor index) and calls `done` once, from any
  // thread (server::HealthProbes sends the real HTTP request).
  using ProbeFn = std::function<void(size_t index, Done done)>;
  using ClockFn = std::function<Instant()>;

  // `slot_providers[slot]` = the monitor index of the slot's provider (see slot_providers()).
  ProbeScheduler(HealthMonitor& monitor, BreakerStore* breakers, std::vector<size_t> slot_providers, Millis interval,
                 ProbeFn probe, ClockFn clock, Instant start);

  // Starts the probes that are due; returns when to call again.
  SteadyTime run_due();
  // When the provider's next probe is due; nullopt while one is in flight.
  std::optional<SteadyTime> next_due(size_t index) const;
  // Moves the provider's next probe (a reload keeps the schedule of the providers that stay).
  void set_next_due(size_t index, SteadyTime when);

 private:
  void finished(size_t index, const ProbeResult& result);

  HealthMonitor& monitor_;
  BreakerStore* breakers_;
  std::vector<size_t> slot_providers_;
  Millis interval_;
  ProbeFn probe_;
  ClockFn clock_;
  mutable std::mutex mutex_;
  std::vector<SteadyTime> next_due_;
  std::vector<bool> in_flight_;
};

// For ProbeScheduler: each RouteTable slot's provider as a HealthMonitor index (size() when the
// monitor does not know it).
std::vector<size_t> slot_providers(const RouteTable& table, const HealthMonitor& monitor);

// GET /api/providers/health: {"providers":[{"id","status","uptime_percent","last_check",
// "last_error","latency_ms","window":{"attempts","failures"}}]}
std::string render_health_json(const HealthMonitor& monitor, SteadyTime now);

// GET /api/providers: {"providers":[{"id","name","type","enabled","default_model","health",
// "deployments":[{"deployment","breaker","consecutive_failures","retry_in_ms"}]}]}
std::string render_providers_json(const std::vector<std::unique_ptr<providers::Provider>>& providers,
                                  const HealthMonitor& monitor, const RouteTable& table, const BreakerStore& breakers,
                                  SteadyTime now);

}  // namespace llmux::router
