// GET /api/providers, /api/providers/{name}, /api/providers/{name}/models, /api/providers/models.
// Rendered from the snapshot being served and the router's live state at the time of the call.
#include "admin/provider_reads.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>

#include <boost/json.hpp>

#include "discovery/defaults.hpp"
#include "server/gateway_state.hpp"
#include "store/files.hpp"
#include "store/yaml_util.hpp"

namespace llmux::admin {

namespace bjson = boost::json;

namespace {

constexpr std::chrono::seconds kLiveModelsTimeout{3};

bjson::value optional_text(const std::string& text) {
  if (text.empty()) return nullptr;
  return bjson::string(text);
}

bjson::value pricing_json(const ModelPrices& prices) {
  if (!prices.any()) return nullptr;
  // Micro-USD per 1M tokens in the config; USD per 1M tokens here, as the config is written.
  auto usd = [](int64_t micro) { return static_cast<double>(micro) / 1e6; };
  bjson::object o{{"input", usd(prices.input)}, {"output", usd(prices.output)}};
  if (prices.cached_input) o["cachedInput"] = usd(*prices.cached_input);
  if (prices.cache_write) o["cacheWrite"] = usd(*prices.cache_write);
  if (prices.reasoning) o["reasoning"] = usd(*prices.reasoning);
  return o;
}

bjson::array models_json(const ProviderConfig& c) {
  bjson::array models;
  for (const auto& m : c.models) {
    bjson::object o{{"id", m.id}, {"name", m.name.empty() ? m.id : m.name}};
    o["contextWindow"] = m.context_window ? bjson::value(*m.context_window) : bjson::value(nullptr);
    o["pricing"] = pricing_json(m.prices);
    models.push_back(std::move(o));
  }
  return models;
}

const char* auth_name(AuthStyle auth) {
  switch (auth) {
    case AuthStyle::bearer: return "bearer";
    case AuthStyle::header: return "header";
    case AuthStyle::basic: return "basic";
    case AuthStyle::none: return "none";
  }
  return "bearer";
}

int severity(router::BreakerState s) {
  switch (s) {
    case router::BreakerState::closed: return 0;
    case router::BreakerState::half_open: return 1;
    case router::BreakerState::open: return 2;
  }
  return 0;
}

// Everything about a provider that is its configuration, not its live state: what the ETag of a
// provider without a stored text is computed from. No secret value.
bjson::object settings_json(const providers::Provider& p, const std::optional<store::ProviderOrigin>& origin) {
  const ProviderConfig& c = p.config();
  std::string url = c.base_url;
  p.scrub(url);  // a key may sit in its path (Azure-style deployment URLs)
  bjson::array headers;
  for (const auto& h : c.headers) headers.push_back(bjson::object{{"name", h.name}, {"value", "****"}});
  std::string masked = masked_secret(c.api_key);
  return {{"id", c.id},
          {"name", c.name.empty() ? c.id : c.name},
          {"type", c.type},
          {"enabled", c.enabled},
          {"origin", origin ? origin->kind : std::string("config")},
          {"baseUrl", url},
          {"defaultModel", optional_text(c.default_model)},
          {"default_model", optional_text(c.default_model)},  // the shape before the admin API
          {"models", models_json(c)},
          {"priority", c.priority},
          {"authType", auth_name(c.auth)},
          {"headers", std::move(headers)},
          {"apiKey", optional_text(masked)}};
}

bjson::object provider_json(const server::GatewayState& state, const providers::Provider& p,
                            const std::optional<store::ProviderOrigin>& origin, router::SteadyTime now) {
  bjson::object o = settings_json(p, origin);
  bjson::object health{{"status", "unknown"}, {"latencyMs", nullptr}};
  int64_t per_minute = 0, errors = 0;
  double p95 = 0;
  if (auto i = state.health_index(p)) {
    auto snapshot = state.health->snapshot(*i, now);
    health["status"] = router::health_status_name(snapshot.status);
    if (snapshot.latency) health["latencyMs"] = snapshot.latency->count();
  }
  if (auto* meter = state.meter_for(p)) {
    auto m = meter->read(now);
    per_minute = static_cast<int64_t>(m.window_requests);
    errors = static_cast<int64_t>(m.failed);
    p95 = m.latency.quantile_ms(0.95);
  }
  o["health"] = std::move(health);
  router::BreakerState worst = router::BreakerState::closed;
  bjson::array deployments;
  const auto& slots = state.routes->slots();
  for (size_t slot = 0; slot < slots.size(); ++slot) {
    if (slots[slot].provider != &p) continue;
    auto b = state.breakers->status(static_cast<uint32_t>(slot), now);
    if (severity(b.state) > severity(worst)) worst = b.state;
    bjson::object d{{"deployment", slots[slot].label},
                    {"breaker", router::breaker_state_name(b.state)},
                    {"consecutive_failures", b.consecutive_failures}};
    if (b.state == router::BreakerState::open)
      d["retry_in_ms"] = std::max<int64_t>(std::chrono::duration_cast<router::Millis>(b.open_until - now).count(), 0);
    deployments.push_back(std::move(d));
  }
  o["breaker"] = router::breaker_state_name(worst);
  o["deployments"] = std::move(deployments);
  o["requestsPerMinute"] = per_minute;
  o["p95Ms"] = std::round(p95 * 10) / 10;
  o["errors"] = errors;
  return o;
}

const providers::Provider* find_provider(const server::GatewayState& state, std::string_view id) {
  for (const auto& p : state.providers)
    if (p->id() == id) return p.get();
  return nullptr;
}

AdminAnswer not_found(const server::GatewayState& state, const std::string& id) {
  std::string known;
  for (const auto& p : state.providers) known += (known.empty() ? "" : ", ") + p->id();
  return error_answer(Error::make(ErrorKind::not_found,
                                  "provider '" + id + "' not found (providers: " + (known.empty() ? "none" : known) + ")",
                                  {}, "provider_not_found"));
}

// The provider's mapping as written in its file (the store or the config file), re-emitted.
std::optional<std::string> written_text(const std::string& file, std::string_view id) {
  auto text = store::read_file(file);
  if (!text || !*text) return std::nullopt;
  try {
    for (auto& raw : store::raw_providers(YAML::Load(**text)))
      if (raw.id == id) return YAML::Dump(raw.node);
  } catch (const YAML::Exception&) {
  }
  return std::nullopt;
}

}  // namespace

std::string masked_secret(const Secret& secret) { return secret.redacted(); }

std::string etag_of(std::string_view stored_text) {
  // FNV-1a, 64 bits: stable across processes and builds (std::hash is not).
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : stored_text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  char text[24];
  std::snprintf(text, sizeof text, "\"%016llx\"", static_cast<unsigned long long>(hash));
  return text;
}

std::string provider_etag(const AdminContext& context, const providers::Provider& provider) {
  auto origin = context.origin_of(provider.id());
  if (origin && !origin->file.empty())
    if (auto text = written_text(origin->file, provider.id())) return etag_of(*text);
  return etag_of(bjson::serialize(settings_json(provider, origin)));
}

AdminAnswer list_providers(AdminContext& context, const AdminRequest&) {
  auto state = context.state();
  auto now = router::SteadyClock::now();
  bjson::array list;
  for (const auto& p : state->providers) list.push_back(provider_json(*state, *p, context.origin_of(p->id()), now));
  return json_answer(bjson::serialize(bjson::object{{"providers", std::move(list)}}));
}

AdminAnswer get_provider(AdminContext& context, const AdminRequest& request) {
  auto state = context.state();
  const std::string& id = request.params.at(0);
  const auto* p = find_provider(*state, id);
  if (!p) return not_found(*state, id);
  auto answer = json_answer(bjson::serialize(provider_json(*state, *p, context.origin_of(id), router::SteadyClock::now())));
  answer.headers = "ETag: " + provider_etag(context, *p) + "\r\n";
  return answer;
}

AdminAnswer provider_models(AdminContext& context, const AdminRequest& request) {
  auto state = context.state();
  const std::string& id = request.params.at(0);
  const auto* p = find_provider(*state, id);
  if (!p) return not_found(*state, id);
  // On the admin thread: the provider's own GET /models, with its URL, credential and headers.
  auto fetched = discovery::fetch_model_lists({p->config()}, kLiveModelsTimeout);
  bjson::value live = nullptr, live_error = nullptr;
  if (auto it = fetched.find(id); it == fetched.end()) {
    live_error = "no answer";
  } else if (!it->second.error.empty()) {
    std::string reason = it->second.error;
    p->scrub(reason);
    live_error = bjson::string(reason);
  } else {
    bjson::array ids;
    for (const auto& m : it->second.ids) ids.push_back(bjson::object{{"id", m}});
    live = std::move(ids);
  }
  return json_answer(bjson::serialize(bjson::object{
      {"provider", id}, {"configured", models_json(p->config())}, {"live", std::move(live)}, {"liveError", std::move(live_error)}}));
}

AdminAnswer all_models(AdminContext& context, const AdminRequest&) {
  auto state = context.state();
  bjson::array models;
  for (const auto& p : state->providers) {
    if (!p->config().enabled) continue;
    for (const auto& m : p->config().models)
      models.push_back(bjson::object{{"id", m.id}, {"provider", p->id()}, {"name", m.name.empty() ? m.id : m.name}});
  }
  for (const auto& route : state->config.models)
    models.push_back(bjson::object{{"id", route.name}, {"provider", nullptr}, {"name", route.name}});
  return json_answer(bjson::serialize(bjson::object{{"models", std::move(models)}}));
}

}  // namespace llmux::admin
