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

}  // namespace

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
  const router::RouteTable* table = state->routes.get();
  state->breakers = std::make_unique<router::LocalBreakerStore>(
      state->routes->slot_count(), rc.breaker, [table](const router::BreakerEvent& e) {
        observability::log_warning(router::describe(e, table->slots()[e.slot].label));
      });
  boost::json::array data;
  for (const auto& m : state->catalog->models()) data.push_back(model_object(m));
  boost::json::object list;
  list["object"] = "list";
  list["data"] = std::move(data);
  state->models_json = boost::json::serialize(list);
  return std::shared_ptr<const GatewayState>(std::move(state));
}

}  // namespace llmux::server
