#include "router/health.hpp"

#include <algorithm>
#include <ctime>

#include <boost/json.hpp>

namespace llmux::router {

namespace {

constexpr int kDownAfterProbes = 3;
constexpr int kDownAfterLiveFailures = 5;
constexpr uint32_t kDegradedMinAttempts = 10;

}  // namespace

const char* health_status_name(HealthStatus s) noexcept {
  switch (s) {
    case HealthStatus::unknown: return "unknown";
    case HealthStatus::healthy: return "healthy";
    case HealthStatus::degraded: return "degraded";
    case HealthStatus::down: return "down";
  }
  return "unknown";
}

std::string iso8601(WallTime time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::string alert_payload_json(const HealthEvent& e) {
  boost::json::object o;
  o["provider"] = e.provider;
  o["from"] = health_status_name(e.from);
  o["to"] = health_status_name(e.to);
  o["reason"] = e.reason;
  o["time"] = iso8601(e.time);
  return boost::json::serialize(o);
}

// --- monitor -----------------------------------------------------------------------------------------

std::shared_ptr<HealthMonitor::Record> HealthMonitor::make_record(std::string provider_id, const HealthConfig& config) {
  auto record = std::make_shared<Record>();
  record->id = std::move(provider_id);
  record->traffic.set_window(config.window);
  return record;
}

HealthMonitor::HealthMonitor(std::vector<std::string> provider_ids, const HealthConfig& config, EventSink sink)
    : config_(config), sink_(std::move(sink)) {
  for (auto& id : provider_ids) providers_.push_back(make_record(std::move(id), config));
}

HealthMonitor::HealthMonitor(std::vector<std::shared_ptr<Record>> records, const HealthConfig& config, EventSink sink)
    : config_(config), providers_(std::move(records)), sink_(std::move(sink)) {}

std::optional<size_t> HealthMonitor::index_of(std::string_view provider) const noexcept {
  for (size_t i = 0; i < providers_.size(); ++i)
    if (providers_[i]->id == provider) return i;
  return std::nullopt;
}

HealthStatus HealthMonitor::status(size_t provider) const noexcept {
  return provider < providers_.size() ? providers_[provider]->status.load(std::memory_order_acquire)
                                      : HealthStatus::unknown;
}

void HealthMonitor::emit(std::optional<HealthEvent> event) {
  if (!event || !sink_) return;
  try {
    sink_(*event);
  } catch (...) {
    // A failing sink (log, webhook queue) must not break the probe or the request.
  }
}

std::optional<HealthEvent> HealthMonitor::evaluate(Provider& p, SteadyTime now, WallTime wall, std::string_view why) {
  auto traffic = p.traffic.totals(now);
  int live_in_row = p.live_failures_in_row.load(std::memory_order_relaxed);
  HealthStatus next = HealthStatus::unknown;
  std::string reason;
  if (p.probe_failures_in_row >= kDownAfterProbes) {
    next = HealthStatus::down;
    reason = std::to_string(p.probe_failures_in_row) + " probes failed in a row";
  } else if (live_in_row >= kDownAfterLiveFailures) {
    next = HealthStatus::down;
    reason = std::to_string(live_in_row) + " requests failed in a row";
  } else if (p.probe_failures_in_row > 0) {
    next = HealthStatus::degraded;
    reason = "the last probe failed";
  } else if (p.last_probe_slow) {
    next = HealthStatus::degraded;
    reason = "the last probe took " + providers::format_duration(p.latency.value_or(Millis(0))) + " (limit " +
             providers::format_duration(config_.degraded_latency) + ")";
  } else if (traffic.attempts >= kDegradedMinAttempts && traffic.failures * 4 >= traffic.attempts) {
    next = HealthStatus::degraded;
    reason = std::to_string(traffic.failures) + " of " + std::to_string(traffic.attempts) + " requests failed";
  } else if (p.last_check || traffic.attempts > traffic.failures) {
    next = HealthStatus::healthy;
    reason = "answering";
  }
  HealthStatus previous = p.status.exchange(next, std::memory_order_acq_rel);
  if (previous == next) return std::nullopt;
  if (!why.empty() && next != HealthStatus::healthy) reason += ": " + std::string(why);
  return HealthEvent{p.id, previous, next, std::move(reason), wall};
}

void HealthMonitor::record_probe(size_t index, const ProbeResult& result, SteadyTime now) {
  if (index >= providers_.size()) return;
  Provider& p = *providers_[index];
  std::optional<HealthEvent> event;
  {
    std::lock_guard lock(p.mutex);
    p.probes.emplace_back(now, result.ok);
    while (!p.probes.empty() && now - p.probes.front().first > config_.window) p.probes.pop_front();
    p.last_check = result.checked_at;
    if (result.ok) {
      p.probe_failures_in_row = 0;
      p.latency = result.latency;
      p.last_probe_slow = result.latency > config_.degraded_latency;
    } else {
      ++p.probe_failures_in_row;
      p.last_probe_slow = false;
      p.last_error = result.error;
    }
    event = evaluate(p, now, result.checked_at, result.ok ? std::string_view{} : std::string_view(result.error));
  }
  emit(std::move(event));
}

void HealthMonitor::record_traffic(size_t index, bool ok, SteadyTime now, std::string_view error, WallTime wall) {
  if (index >= providers_.size()) return;
  Provider& p = *providers_[index];
  p.traffic.add(now, !ok);
  if (ok) {
    if (p.live_failures_in_row.load(std::memory_order_relaxed) != 0)
      p.live_failures_in_row.store(0, std::memory_order_relaxed);
    // The common case ends here: a healthy provider's success takes no lock.
    if (p.status.load(std::memory_order_acquire) == HealthStatus::healthy) return;
  } else {
    p.live_failures_in_row.fetch_add(1, std::memory_order_relaxed);
  }
  std::optional<HealthEvent> event;
  {
    std::lock_guard lock(p.mutex);
    if (!ok) p.last_error = std::string(error);
    event = evaluate(p, now, wall, ok ? std::string_view{} : error);
  }
  emit(std::move(event));
}

HealthSnapshot HealthMonitor::snapshot(size_t index, SteadyTime now) const {
  HealthSnapshot s;
  if (index >= providers_.size()) return s;
  const Provider& p = *providers_[index];
  auto traffic = p.traffic.totals(now);
  std::lock_guard lock(p.mutex);
  s.provider = p.id;
  s.status = p.status.load(std::memory_order_acquire);
  size_t probes = 0, ok = 0;
  for (const auto& [at, success] : p.probes) {
    if (now - at > config_.window) continue;
    ++probes;
    ok += success;
  }
  if (probes) s.uptime_percent = 100.0 * static_cast<double>(ok) / static_cast<double>(probes);
  else if (traffic.attempts)
    s.uptime_percent = 100.0 * static_cast<double>(traffic.attempts - traffic.failures) / traffic.attempts;
  s.last_check = p.last_check;
  s.last_error = p.last_error;
  s.latency = p.latency;
  s.consecutive_probe_failures = p.probe_failures_in_row;
  s.window_attempts = traffic.attempts;
  s.window_failures = traffic.failures;
  return s;
}

// --- scheduler ---------------------------------------------------------------------------------------

ProbeScheduler::ProbeScheduler(HealthMonitor& monitor, BreakerStore* breakers, std::vector<size_t> slot_providers,
                               Millis interval, ProbeFn probe, ClockFn clock, Instant start)
    : monitor_(monitor),
      breakers_(breakers),
      slot_providers_(std::move(slot_providers)),
      interval_(interval),
      probe_(std::move(probe)),
      clock_(std::move(clock)),
      next_due_(monitor.size()),
      in_flight_(monitor.size(), false) {
  size_t n = std::max<size_t>(monitor.size(), 1);
  for (size_t i = 0; i < next_due_.size(); ++i) next_due_[i] = start.steady + interval_ * static_cast<int64_t>(i) / static_cast<int64_t>(n);
}

SteadyTime ProbeScheduler::run_due() {
  if (interval_.count() <= 0) return SteadyTime::max();
  Instant now = clock_();
  std::vector<size_t> due;
  SteadyTime next = SteadyTime::max();
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < next_due_.size(); ++i) {
      if (in_flight_[i]) continue;
      if (now.steady >= next_due_[i]) {
        in_flight_[i] = true;
        due.push_back(i);
      } else {
        next = std::min(next, next_due_[i]);
      }
    }
  }
  for (size_t i : due) probe_(i, [this, i](ProbeResult result) { finished(i, result); });
  // A probe in flight is due again one interval after it finishes; check back by then at latest.
  if (!due.empty()) next = std::min(next, now.steady + interval_);
  return next;
}

std::optional<SteadyTime> ProbeScheduler::next_due(size_t index) const {
  std::lock_guard lock(mutex_);
  if (index >= next_due_.size() || in_flight_[index]) return std::nullopt;
  return next_due_[index];
}

void ProbeScheduler::set_next_due(size_t index, SteadyTime when) {
  std::lock_guard lock(mutex_);
  if (index < next_due_.size()) next_due_[index] = when;
}

void ProbeScheduler::finished(size_t index, const ProbeResult& result) {
  Instant now = clock_();
  ProbeResult stamped = result;
  if (stamped.checked_at == WallTime{}) stamped.checked_at = now.wall;
  monitor_.record_probe(index, stamped, now.steady);
  bool down = !result.ok && monitor_.status(index) == HealthStatus::down;
  if (breakers_)
    for (size_t slot = 0; slot < slot_providers_.size(); ++slot) {
      if (slot_providers_[slot] != index) continue;
      if (down) breakers_->trip(static_cast<uint32_t>(slot), now.steady, "provider down: health probes failing");
      else breakers_->record_probe(static_cast<uint32_t>(slot), result.ok, now.steady);
    }
  std::lock_guard lock(mutex_);
  in_flight_[index] = false;
  next_due_[index] = now.steady + interval_;
}

std::vector<size_t> slot_providers(const RouteTable& table, const HealthMonitor& monitor) {
  std::vector<size_t> out;
  for (const auto& slot : table.slots())
    out.push_back(monitor.index_of(slot.provider->id()).value_or(monitor.size()));
  return out;
}

// --- JSON --------------------------------------------------------------------------------------------

namespace {

boost::json::object health_object(const HealthSnapshot& s) {
  boost::json::object o;
  o["id"] = s.provider;
  o["status"] = health_status_name(s.status);
  if (s.uptime_percent) o["uptime_percent"] = std::round(*s.uptime_percent * 100) / 100;
  else o["uptime_percent"] = nullptr;
  if (s.last_check) o["last_check"] = iso8601(*s.last_check);
  else o["last_check"] = nullptr;
  if (s.last_error.empty()) o["last_error"] = nullptr;
  else o["last_error"] = s.last_error;
  if (s.latency) o["latency_ms"] = s.latency->count();
  else o["latency_ms"] = nullptr;
  o["window"] = {{"attempts", s.window_attempts}, {"failures", s.window_failures}};
  return o;
}

}  // namespace

std::string render_health_json(const HealthMonitor& monitor, SteadyTime now) {
  boost::json::array list;
  for (size_t i = 0; i < monitor.size(); ++i) list.push_back(health_object(monitor.snapshot(i, now)));
  return boost::json::serialize(boost::json::object{{"providers", std::move(list)}});
}

std::string render_providers_json(const std::vector<std::unique_ptr<providers::Provider>>& providers,
                                  const HealthMonitor& monitor, const RouteTable& table, const BreakerStore& breakers,
                                  SteadyTime now) {
  boost::json::array list;
  for (const auto& p : providers) {
    const ProviderConfig& c = p->config();
    boost::json::object o;
    o["id"] = c.id;
    o["name"] = c.name;
    o["type"] = c.type;
    o["enabled"] = c.enabled;
    if (c.default_model.empty()) o["default_model"] = nullptr;
    else o["default_model"] = c.default_model;
    auto index = monitor.index_of(c.id);
    o["health"] = health_status_name(index ? monitor.status(*index) : HealthStatus::unknown);
    boost::json::array deployments;
    const auto& slots = table.slots();
    for (size_t slot = 0; slot < slots.size(); ++slot) {
      if (slots[slot].provider != p.get()) continue;
      BreakerStatus b = breakers.status(static_cast<uint32_t>(slot), now);
      boost::json::object d;
      d["deployment"] = slots[slot].label;
      d["breaker"] = breaker_state_name(b.state);
      d["consecutive_failures"] = b.consecutive_failures;
      if (b.state == BreakerState::open)
        d["retry_in_ms"] = std::max<int64_t>(std::chrono::duration_cast<Millis>(b.open_until - now).count(), 0);
      deployments.push_back(std::move(d));
    }
    o["deployments"] = std::move(deployments);
    list.push_back(std::move(o));
  }
  return boost::json::serialize(boost::json::object{{"providers", std::move(list)}});
}

}  // namespace llmux::router
