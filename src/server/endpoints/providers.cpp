// GET /api/providers/health and GET /api/providers: what the router knows about each provider,
// read from the snapshot's shared health records and breakers at the time of the request.
#include "server/endpoints/endpoints.hpp"

namespace llmux::server {

std::string providers_health_json(const GatewayState& state) {
  return router::render_health_json(*state.health, router::SteadyClock::now());
}

std::string providers_json(const GatewayState& state) {
  return router::render_providers_json(state.providers, *state.health, *state.routes, *state.breakers,
                                       router::SteadyClock::now());
}

}  // namespace llmux::server
