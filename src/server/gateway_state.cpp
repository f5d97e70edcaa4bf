#include "server/gateway_state.hpp"

#include <boost/json.hpp>

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
  boost::json::array data;
  for (const auto& m : state->catalog->models()) data.push_back(model_object(m));
  boost::json::object list;
  list["object"] = "list";
  list["data"] = std::move(data);
  state->models_json = boost::json::serialize(list);
  return std::shared_ptr<const GatewayState>(std::move(state));
}

}  // namespace llmux::server
