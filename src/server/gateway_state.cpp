#include "server/gateway_state.hpp"

#include <boost/json.hpp>

#include "observability/log.hpp"

namespace llmux::server {

namespace {

boost::json::object model_object(const router::ListedModel& m) {
  boost::json::object o;
  o["id"] = m.id;
  o["object"] = "model";
  o["created"] = 0;
  o["owned_by"] = m.owned_by;
  if (m.model) {
    if (!m.model->name.empty()) o["name"] = m.model->name;
    if (m.model->context_window) o["context_window"] = *m.model->context_window;
  }
  return o;
}

router::LocalBreakerStore::EventSink breaker_log_sink(const router::RouteTable& table) {
  return [&table](const router::BreakerEvent& e) {
    observability::log_warning(router::describe(e, table.slots()[e.slot].label));
  };
}

void log_health_event(const router::HealthEvent& event) { observability::log_warning(describe(event)); }

// What a provider's live state is about: its id and where and how llmux reaches it. A reload that
// changes its URL, credential or headers makes it another upstream, whose past failures (a 401
// for a missing key) say nothing about the new one. Secrets enter only as a hash.
std::string upstream_identity(const ProviderConfig& c) {
  size_t secrets = std::hash<std::string_view>{}(c.api_key.reveal());
  for (const auto& h : c.headers)
    secrets = secrets * 31 + std::hash<std::string_view>{}(h.name) * 7 + std::hash<std::string_view>{}(h.value);
  return c.id + '\n' + c.type + '\n' + c.base_url + '\n' + std::to_string(static_cast<int>(c.auth)) + ' ' +
         c.auth_header + '\n' + std::to_string(secrets);
}

std::string deployment_key(const router::RouteTable::SlotInfo& slot) {
  return upstream_identity(slot.provider->config()) + '\n' + slot.upstream_model;
}

}  // namespace

std::string describe(const router::HealthEvent& e) {
  return "health " + e.provider + ": " + router::health_status_name(e.from) + " -> " +
         router::health_status_name(e.to) + " (" + e.reason + ")";
}

void GatewayState::record_failure(const providers::Provider& provider, const router::AttemptOutcome& outcome) const {
  auto index = health_index(provider);
  if (!index) return;
  router::Treatment t = router::classify(outcome);
  if (t == router::Treatment::cancelled) return;
  bool failed = router::is_breaker_failure(outcome, t);
  health->record_traffic(*index, !failed, router::SteadyClock::now(), outcome.error_message,
                         std::chrono::system_clock::now());
}

RouterRegistry::RouterRegistry(router::HealthMonitor::EventSink health_sink) : health_sink_(std::move(health_sink)) {}

size_t RouterRegistry::deployment_count() const {
  std::lock_guard lock(mutex_);
  return deployments_.size();
}

void RouterRegistry::bind(const GatewayState& state) {
  const auto& rc = state.config.router;
  std::lock_guard lock(mutex_);
  bool breakers_carry = breaker_window_ == rc.breaker.window;
  bool health_carries = health_window_ == rc.health.window;
  breaker_window_ = rc.breaker.window;
  health_window_ = rc.health.window;

  std::map<std::string, DeploymentEntry, std::less<>> deployments;
  std::vector<std::shared_ptr<router::LocalBreakerStore::Slot>> breaker_slots;
  std::vector<std::shared_ptr<router::DeploymentStats::Slot>> stats_slots;
  for (const auto& slot : state.routes->slots()) {
    std::string key = deployment_key(slot);
    auto [entry, added] = deployments.try_emplace(key);
    if (added) {
      if (auto old = deployments_.find(key); old != deployments_.end()) {
        entry->second.stats = old->second.stats;
        if (breakers_carry) entry->second.breaker = old->second.breaker;
      }
      if (!entry->second.stats) entry->second.stats = std::make_shared<router::DeploymentStats::Slot>();
      if (!entry->second.breaker) entry->second.breaker = router::LocalBreakerStore::make_slot(rc.breaker);
    }
    breaker_slots.push_back(entry->second.breaker);
    stats_slots.push_back(entry->second.stats);
  }
  deployments_ = std::move(deployments);

  std::map<std::string, std::shared_ptr<router::HealthMonitor::Record>, std::less<>> providers;
  std::vector<std::shared_ptr<router::HealthMonitor::Record>> records;
  for (const auto* p : state.health_providers) {
    std::string key = upstream_identity(p->config());
    auto& record = providers[key];
    if (auto old = providers_.find(key); old != providers_.end() && health_carries) record = old->second;
    if (!record) record = router::HealthMonitor::make_record(p->id(), rc.health);
    records.push_back(record);
  }
  providers_ = std::move(providers);
  std::vector<observability::ProviderMeterStore::Key> meter_keys;
  for (const auto* p : state.health_providers) meter_keys.push_back({upstream_identity(p->config()), p->id()});
  state.meters = meters_->bind(meter_keys);

  state.governance = governance_.bind(state.config);
  state.stats = std::make_unique<router::DeploymentStats>(std::move(stats_slots));
  state.breakers = std::make_unique<router::LocalBreakerStore>(std::move(breaker_slots), rc.breaker,
                                                               breaker_log_sink(*state.routes));
  state.health = std::make_unique<router::HealthMonitor>(
      std::move(records), rc.health, health_sink_ ? health_sink_ : router::HealthMonitor::EventSink(log_health_event));
}

std::string model_object_json(const router::ListedModel& model) {
  return boost::json::serialize(model_object(model));
}

Expected<std::shared_ptr<const GatewayState>, std::vector<std::string>> GatewayState::build(
    GatewayConfig config) {
  auto state = std::make_shared<GatewayState>();
  std::vector<std::string> errors;
  for (const auto& p : config.providers) {
    auto provider = providers::make_provider(p, config.server);
    if (!provider) {
      errors.push_back("provider '" + p.id + "': " + provider.error());
      continue;
    }
    state->providers.push_back(std::move(provider.value()));
  }
  if (!errors.empty()) return unexpected(std::move(errors));
  state->config = std::move(config);
  state->catalog = std::make_unique<router::ModelCatalog>(state->providers);
  const auto& rc = state->config.router;
  state->routes = std::make_unique<router::RouteTable>(state->providers, state->config.models, rc.strategy,
                                                       *state->catalog);
  state->stats = std::make_unique<router::DeploymentStats>(state->routes->slot_count());
  state->breakers = std::make_unique<router::LocalBreakerStore>(state->routes->slot_count(), rc.breaker,
                                                                breaker_log_sink(*state->routes));
  state->governance = governance::GovernanceRegistry().bind(state->config);  // unbound: fresh state
  std::vector<std::string> watched;
  for (const auto& p : state->providers)
    if (p->config().enabled) {
      state->health_providers.push_back(p.get());
      watched.push_back(p->id());
    }
  state->health = std::make_unique<router::HealthMonitor>(std::move(watched), rc.health, log_health_event);
  for (const auto* p : state->health_providers)
    state->meters.push_back(std::make_shared<observability::LocalProviderMeter>(p->id()));
  state->access_log = observability::open_access_log(state->config.logging.access_log);
  boost::json::array data;
  for (const auto& m : state->catalog->models()) data.push_back(model_object(m));
  boost::json::object list;
  list["object"] = "list";
  list["data"] = std::move(data);
  state->models_json = boost::json::serialize(list);
  return std::shared_ptr<const GatewayState>(std::move(state));
}

}  // namespace llmux::server
