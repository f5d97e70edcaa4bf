// An immutable snapshot of everything the request path reads: config, provider instances, model
// catalog and pre-rendered responses. Built off the request path; shared read-only by all worker
// threads (no locking needed to read it). A config change builds a new snapshot.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "llmux/config.hpp"
#include "providers/provider.hpp"
#include "router/balancer.hpp"
#include "router/breaker.hpp"
#include "router/model_catalog.hpp"
#include "router/route_table.hpp"

namespace llmux::server {

struct GatewayState {
  GatewayConfig config;
  std::vector<std::unique_ptr<providers::Provider>> providers;
  std::unique_ptr<router::ModelCatalog> catalog;
  std::unique_ptr<router::RouteTable> routes;
  // Shared, thread-safe state of the request path (atomics): in-flight counts and latency per
  // deployment, circuit breakers. Per snapshot: a reload starts them afresh.
  std::unique_ptr<router::DeploymentStats> stats;
  std::unique_ptr<router::LocalBreakerStore> breakers;
  std::string models_json;  // GET /v1/models body

  // Returns the errors (provider type unknown, …) instead of a state when the config is unusable.
  static Expected<std::shared_ptr<const GatewayState>, std::vector<std::string>> build(GatewayConfig config);
};

// One listed model in the OpenAI "model" object shape.
std::string model_object_json(const router::ListedModel& model);

}  // namespace llmux::server
