#include <string>

#include "observability/prometheus_text.hpp"
#include "server/endpoints/endpoints.hpp"
#include "server/worker.hpp"

namespace llmux::server {

namespace {

// The per-provider and per-deployment families, read from the current snapshot's meters, health
// records and breakers (shared state that outlives reloads for what stays).
void append_provider_metrics(std::string& out, const GatewayState& state) {
  observability::PrometheusText text(out);
  auto now = router::SteadyClock::now();
  std::vector<observability::ProviderMetricsSnapshot> meters;
  for (const auto& meter : state.meters) meters.push_back(meter->read(now));

  text.family("llmux_time_to_first_token_seconds", "histogram",
              "Time from a request's arrival to the first content sent to the client, by provider.");
  for (const auto& m : meters) text.histogram("llmux_time_to_first_token_seconds", {{"provider", m.provider_id}}, m.ttft);
  text.family("llmux_upstream_latency_seconds", "histogram",
              "Time from the start of a request's last upstream attempt to the end of its answer, by provider.");
  for (const auto& m : meters) text.histogram("llmux_upstream_latency_seconds", {{"provider", m.provider_id}}, m.upstream);
  text.family("llmux_cost_usd_total", "counter", "Cost of the answers, from the provider's usage and prices, USD.");
  for (const auto& m : meters)
    text.sample("llmux_cost_usd_total", {{"provider", m.provider_id}}, static_cast<double>(m.cost_nano_usd) / 1e9);
  text.family("llmux_errors_total", "counter", "Requests answered with an error, by provider and OpenAI error type.");
  for (const auto& m : meters)
    for (const auto& [type, count] : m.errors_by_type)
      text.sample("llmux_errors_total", {{"provider", m.provider_id}, {"type", type}}, count);

  text.family("llmux_provider_up", "gauge", "1 unless the provider's health is down (probes or requests failing).");
  for (size_t i = 0; i < state.health_providers.size(); ++i)
    text.sample("llmux_provider_up", {{"provider", state.health_providers[i]->id()}},
                uint64_t{state.health->status(i) != router::HealthStatus::down});

  const auto& slots = state.routes->slots();
  text.family("llmux_in_flight_requests", "gauge", "Upstream attempts in flight, by deployment.");
  for (size_t i = 0; i < slots.size(); ++i)
    text.sample("llmux_in_flight_requests", {{"provider", slots[i].provider->id()}, {"deployment", slots[i].label}},
                static_cast<double>(state.stats->inflight(static_cast<uint32_t>(i))));
  text.family("llmux_breaker_state", "gauge", "Circuit breaker state by deployment: 0 closed, 1 open, 2 half-open.");
  for (size_t i = 0; i < slots.size(); ++i)
    text.sample("llmux_breaker_state", {{"provider", slots[i].provider->id()}, {"deployment", slots[i].label}},
                static_cast<uint64_t>(state.breakers->status(static_cast<uint32_t>(i), now).state));
}

}  // namespace

std::string metrics_text(Server::Impl& server) {
  std::string out = server.metrics.render();
  out += "# HELP llmux_client_connections Client connections open now.\n"
         "# TYPE llmux_client_connections gauge\nllmux_client_connections ";
  out += std::to_string(server.live_connections.load(std::memory_order_relaxed));
  out += "\n# HELP llmux_client_connections_refused_total Client connections refused at server.max_connections.\n"
         "# TYPE llmux_client_connections_refused_total counter\nllmux_client_connections_refused_total ";
  out += std::to_string(server.rejected_connections.load(std::memory_order_relaxed));
  out += "\n";
  append_provider_metrics(out, *server.current_state());
  server.metrics.governance.render(out);
  if (server.ledger) append_ledger_metrics(out, server.ledger->stats());
  return out;
}

}  // namespace llmux::server
