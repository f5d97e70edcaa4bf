// An immutable per-config snapshot of everything the request path reads: config, provider
// instances, model catalog and pre-rendered responses. Built off the request path; shared
// read-only by all worker threads (no locking needed to read it). A config change builds a new
// snapshot.
//
// The router's live state (circuit breakers, balancer statistics, provider health) is not the
// snapshot's own: it belongs to the server's RouterRegistry, which outlives snapshots and hands
// each new one the state of the deployments and providers it keeps (see RouterRegistry).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "governance/governor.hpp"
#include "llmux/config.hpp"
#include "observability/access_log.hpp"
#include "observability/provider_metrics.hpp"
#include "providers/provider.hpp"
#include "router/balancer.hpp"
#include "router/breaker.hpp"
#include "router/failure.hpp"
#include "router/health.hpp"
#include "router/model_catalog.hpp"
#include "router/route_table.hpp"

namespace llmux::server {

struct GatewayState {
  GatewayConfig config;
  std::vector<std::unique_ptr<providers::Provider>> providers;
  std::unique_ptr<router::ModelCatalog> catalog;
  std::unique_ptr<router::RouteTable> routes;
  // Shared, thread-safe state of the request path (atomics): in-flight counts and latency per
  // deployment, circuit breakers, provider health. `build` gives them fresh state; a server
  // binds them to its RouterRegistry (RouterRegistry::bind) before publishing the snapshot to
  // its workers, which is the one time they are replaced (hence mutable in a const snapshot).
  mutable std::unique_ptr<router::DeploymentStats> stats;
  mutable std::unique_ptr<router::LocalBreakerStore> breakers;
  mutable std::unique_ptr<router::HealthMonitor> health;
  // Rate limits and budgets of the providers and keys, and the config keys' policies; bound like
  // the router state above (RouterRegistry::bind), so their counters survive reloads.
  mutable std::shared_ptr<const governance::Governance> governance;
  // The providers `health` watches (the enabled ones), in its index order.
  std::vector<const providers::Provider*> health_providers;
  // Each watched provider's request meter, in the same order; bound like `health`.
  mutable std::vector<std::shared_ptr<observability::ProviderMeter>> meters;
  std::shared_ptr<observability::AccessLog> access_log;  // null: logging.access_log is off
  std::string models_json;  // GET /v1/models body

  // Returns the errors (provider type unknown, …) instead of a state when the config is unusable.
  static Expected<std::shared_ptr<const GatewayState>, std::vector<std::string>> build(GatewayConfig config);

  // The provider's index in `health`, or nullopt when it is not watched.
  std::optional<size_t> health_index(const providers::Provider& provider) const noexcept {
    for (size_t i = 0; i < health_providers.size(); ++i)
      if (health_providers[i] == &provider) return i;
    return std::nullopt;
  }
  // A live attempt's outcome for the provider's health: a success (atomics only while the
  // provider is healthy), or a failure as the router classifies it (a request the provider
  // rightly rejected counts as an answer; a cancelled attempt not at all).
  void record_success(const providers::Provider& provider, router::SteadyTime now) const noexcept {
    if (auto i = health_index(provider)) health->record_traffic(*i, true, now);
  }
  void record_failure(const providers::Provider& provider, const router::AttemptOutcome& outcome) const;
  observability::ProviderMeter* meter_for(const providers::Provider& provider) const noexcept {
    auto i = health_index(provider);
    return i && *i < meters.size() ? meters[*i].get() : nullptr;
  }
};

// One listed model in the OpenAI "model" object shape.
std::string model_object_json(const router::ListedModel& model);

// "health a: healthy -> down (3 probes failed in a row: ...)"
std::string describe(const router::HealthEvent& event);

// The router state that outlives config snapshots: each deployment's breaker and balancer
// statistics, keyed by provider and upstream model id, and each provider's health and request
// meter (observability::ProviderMeterStore), keyed by provider. A provider is its id with its type, URL, credential and headers: a reload that changes
// those makes a new upstream, which starts afresh. bind() gives a new snapshot the entries of the deployments and providers it keeps
// (so a reload neither closes an open breaker nor forgets health), makes fresh entries for new
// ones and drops the entries of those that are gone (a snapshot still running requests keeps
// its own references to them until it dies). A breaker (or health record) starts afresh when
// router.breaker.window (router.health.window) changes, the one setting baked into its state.
//
// Thread-safety: bind() may be called from any thread (a mutex serialises binds); it must be
// called before the snapshot is visible to any other thread. The entries it hands out are
// atomics (and the health record's own mutex), shared by old and new snapshots alike.
class RouterRegistry {
 public:
  explicit RouterRegistry(router::HealthMonitor::EventSink health_sink = {});
  void bind(const GatewayState& state);

  size_t deployment_count() const;
  // The rate-limit and budget state across reloads (set its ledger and alert sink before run).
  governance::GovernanceRegistry& governance() noexcept { return governance_; }

 private:
  struct DeploymentEntry {
    std::shared_ptr<router::LocalBreakerStore::Slot> breaker;
    std::shared_ptr<router::DeploymentStats::Slot> stats;
  };

  mutable std::mutex mutex_;
  governance::GovernanceRegistry governance_;
  router::HealthMonitor::EventSink health_sink_;
  std::optional<router::Millis> breaker_window_, health_window_;
  std::map<std::string, DeploymentEntry, std::less<>> deployments_;  // provider identity, upstream model
  std::map<std::string, std::shared_ptr<router::HealthMonitor::Record>, std::less<>> providers_;
  std::shared_ptr<observability::ProviderMeterStore> meters_ = std::make_shared<observability::LocalProviderMeterStore>();
};

}  // namespace llmux::server
