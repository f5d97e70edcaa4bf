// GET /api/providers/{name}/metrics: the seeds' ProviderMetrics of one provider, from its meter
// (requests, latency, costs, errors since start, rates over the last minute) and its health
// record (availability), both of which outlive config reloads for a provider that stays.
#include "server/endpoints/endpoints.hpp"
#include "server/http_text.hpp"

namespace llmux::server {

Expected<std::string, Error> provider_metrics_answer(const GatewayState& state, std::string_view encoded_name) {
  std::string name = percent_decode(encoded_name);
  for (size_t i = 0; i < state.health_providers.size() && i < state.meters.size(); ++i) {
    if (state.health_providers[i]->id() != name) continue;
    auto now = router::SteadyClock::now();
    auto health = state.health->snapshot(i, now);
    observability::Availability availability;
    availability.uptime_percent = health.uptime_percent;
    if (health.last_check) availability.last_check = router::iso8601(*health.last_check);
    availability.status = router::health_status_name(health.status);
    return observability::provider_metrics_json(state.meters[i]->read(now), availability);
  }
  std::string enabled;
  for (const auto* p : state.health_providers) enabled += (enabled.empty() ? "" : ", ") + p->id();
  return unexpected(Error::make(ErrorKind::not_found,
                                "provider '" + name + "' not found (enabled providers: " +
                                    (enabled.empty() ? std::string("none") : enabled) + ")",
                                {}, "provider_not_found"));
}

}  // namespace llmux::server
