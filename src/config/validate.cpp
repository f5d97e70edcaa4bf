// Rules that hold for any GatewayConfig, whether loaded from a file or built in code.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <boost/json/parse.hpp>

#include "config/config_internal.hpp"
#include "config/upstream_policy.hpp"

namespace llmux {

using namespace config_detail;

namespace {

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

void validate_provider(const ProviderConfig& p, const std::string& prefix,
                       const std::function<void(const std::string&, std::string)>& fail) {
  if (p.type != kOpenAICompatible && p.type != kAnthropic && p.type != kGemini && p.type != kAzureOpenAI &&
      p.type != kOllama && p.type != kCohere && p.type != kAwsBedrock &&
      p.type != kVertexAI) {
    auto type = normalize_provider_type(p.type);
    fail("type", type ? "type must be written as " + quoted(*type) : type.error());
  }
  if (p.base_url.empty()) {
    fail("base_url", "base_url is required");
  } else if (auto url = normalize_base_url(p.base_url); !url) {
    fail("base_url", url.error());
  }
  if (has_control_chars(p.api_key.reveal()))
    fail("api_key", "must not contain line breaks or control characters");
  if (p.auth == AuthStyle::header && !is_header_token(p.auth_header))
    fail("auth_header", "must be a header name such as api-key or X-API-Key");

  std::set<std::string> header_names;
  for (const auto& h : p.headers) {
    std::string path = "headers." + h.name;
    if (!is_header_token(h.name))
      fail(path, "invalid header name " + quoted(h.name));
    else if (!header_names.insert(to_lower(h.name)).second)
      fail(path, "header " + quoted(h.name) + " is given twice");
    // A line break in a value would let a config (or env var) inject extra headers.
    if (has_control_chars(h.value)) fail(path, "header value must not contain line breaks");
  }

  std::map<std::string, std::string> model_names;  // id or alias -> model that owns it
  for (size_t i = 0; i < p.models.size(); ++i) {
    const ModelConfig& m = p.models[i];
    std::string path = "models[" + std::to_string(i) + "]";
    if (m.id.empty()) fail(path + ".id", "a model needs an id");
    auto claim = [&](const std::string& name, const std::string& where) {
      auto [it, fresh] = model_names.emplace(name, m.id);
      if (!fresh) fail(where, quoted(name) + " is already used by model " + quoted(it->second));
    };
    if (!m.id.empty()) claim(m.id, path + ".id");
    for (size_t j = 0; j < m.aliases.size(); ++j) {
      std::string where = path + ".aliases[" + std::to_string(j) + "]";
      if (m.aliases[j].empty()) fail(where, "alias must not be empty");
      else if (m.aliases[j] != m.id) claim(m.aliases[j], where);
    }
    if (m.context_window && *m.context_window <= 0)
      fail(path + ".context_window", "must be greater than 0");
    const ModelPrices& price = m.prices;
    std::pair<std::optional<int64_t>, const char*> prices[] = {
        {price.input, ".pricing.input"}, {price.output, ".pricing.output"},
        {price.cached_input, ".pricing.cached_input_per_mtok"},
        {price.cache_write, ".pricing.cache_write_per_mtok"}, {price.reasoning, ".pricing.reasoning_per_mtok"}};
    for (auto& [value, key] : prices)
      if (value && *value < 0) fail(path + key, "must be a number >= 0");
  }
  if (!p.default_model.empty() && !p.models.empty() && !model_names.count(p.default_model)) {
    std::string listed;
    for (const auto& m : p.models) listed += (listed.empty() ? "" : ", ") + m.id;
    fail("default_model", quoted(p.default_model) + " is not one of this provider's models (" +
                              listed + ")");
  }
  if (!p.default_params_json.empty()) {
    boost::system::error_code ec;
    auto value = boost::json::parse(p.default_params_json, ec);
    if (ec || !value.is_object()) fail("default_params", "must be a JSON object");
  }
  if (p.timeout.count() < 0) fail("timeout", "must not be negative");
  if (p.max_retries < 0) fail("max_retries", "must not be negative");
  for (auto [name, value] : {std::pair{"connect", p.timeouts.connect}, {"headers", p.timeouts.headers},
                             {"first_token", p.timeouts.first_token}, {"idle", p.timeouts.idle},
                             {"total", p.timeouts.total}})
    if (value && value->count() <= 0) fail(std::string("timeouts.") + name, "must be positive");
}

using Fail = std::function<void(const std::string&, std::string)>;

bool lists_model(const ProviderConfig& p, std::string_view model) {
  if (p.models.empty()) return true;  // pass-through: any model name
  return std::any_of(p.models.begin(), p.models.end(), [&](const ModelConfig& m) {
    return m.id == model || std::find(m.aliases.begin(), m.aliases.end(), model) != m.aliases.end();
  });
}

std::string provider_ids(const GatewayConfig& config) {
  std::vector<std::string> ids;
  for (const auto& p : config.providers) ids.push_back(p.id);
  std::sort(ids.begin(), ids.end());
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
  return out.empty() ? "none are configured" : "known: " + out;
}

const ProviderConfig* find_provider(const GatewayConfig& config, std::string_view id) {
  for (const auto& p : config.providers)
    if (p.id == id) return &p;
  return nullptr;
}

// A name a client could ask for: a routed model, a listed model id or alias, or PROVIDER/MODEL.
bool is_addressable(const GatewayConfig& config, std::string_view name) {
  for (const auto& r : config.models)
    if (r.name == name || std::find(r.aliases.begin(), r.aliases.end(), name) != r.aliases.end()) return true;
  for (const auto& p : config.providers) {
    if (!p.models.empty() && lists_model(p, name)) return true;
    if (name.size() > p.id.size() && name.compare(0, p.id.size(), p.id) == 0 && name[p.id.size()] == '/' &&
        lists_model(p, name.substr(p.id.size() + 1)))
      return true;
  }
  return false;
}

void validate_route(const GatewayConfig& config, const ModelRouteConfig& r, const Fail& fail) {
  if (r.name.empty()) fail("", "a routed model needs a name");
  if (find_provider(config, r.name))
    fail("", quoted(r.name) + " is also a provider id; a routed model needs a name of its own");
  if (size_t slash = r.name.find('/'); slash != std::string::npos && find_provider(config, r.name.substr(0, slash)))
    fail("", quoted(r.name) + " starts with a provider id and '/', which already names that provider's model");
  bool listed = std::any_of(config.providers.begin(), config.providers.end(), [&](const ProviderConfig& p) {
    return !p.models.empty() && lists_model(p, r.name);
  });
  if (r.deployments.empty() && !listed)
    fail("deployments", "model " + quoted(r.name) + " has no deployments and no provider lists a model of that name");
  for (size_t i = 0; i < r.deployments.size(); ++i) {
    const DeploymentConfig& d = r.deployments[i];
    std::string path = "deployments[" + std::to_string(i) + "]";
    const ProviderConfig* p = find_provider(config, d.provider);
    if (d.provider.empty()) fail(path + ".provider", "a deployment needs a provider");
    else if (!p) fail(path + ".provider", "unknown provider " + quoted(d.provider) + " (" + provider_ids(config) + ")");
    if (d.model.empty()) {
      if (p && p->default_model.empty()) fail(path + ".model", "a deployment needs a model (provider " + quoted(p->id) + " has no default_model)");
    } else if (p && !lists_model(*p, d.model)) {
      std::string listed;
      for (const auto& m : p->models) listed += (listed.empty() ? "" : ", ") + m.id;
      fail(path + ".model", quoted(d.model) + " is not one of provider " + quoted(p->id) + "'s models (" + listed + ")");
    }
    if (d.priority < 1) fail(path + ".priority", "must be 1 or more (1 is tried first)");
    if (d.weight < 1) fail(path + ".weight", "must be 1 or more");
  }
  for (size_t i = 0; i < r.context_fallbacks.size(); ++i) {
    const std::string& name = r.context_fallbacks[i];
    if (!is_addressable(config, name))
      fail("context_fallbacks[" + std::to_string(i) + "]", quoted(name) + " is not a model llmux knows");
  }
}

void validate_router(const RouterConfig& r, const Fail& fail) {
  if (r.max_attempts < 1) fail("max_attempts", "must be 1 or more");
  if (r.backoff_base.count() <= 0) fail("backoff.base", "must be positive");
  if (r.backoff_cap < r.backoff_base) fail("backoff.cap", "must not be below backoff.base");
  if (r.max_request_timeout.count() <= 0) fail("max_request_timeout", "must be positive");
  const BreakerConfig& b = r.breaker;
  if (b.consecutive_failures < 1) fail("breaker.consecutive_failures", "must be 1 or more");
  if (!(b.error_rate > 0 && b.error_rate <= 1)) fail("breaker.error_rate", "must be above 0 and at most 1");
  if (b.min_requests < 1) fail("breaker.min_requests", "must be 1 or more");
  if (b.window.count() <= 0) fail("breaker.window", "must be positive");
  if (r.health.window.count() <= 0) fail("health.window", "must be positive");
  if (!r.health.path.empty() && r.health.path.front() != '/') fail("health.path", "must start with '/'");
  if (r.health.timeout.count() <= 0) fail("health.timeout", "must be positive");
}

}  // namespace

ConfigErrors validate_config(const GatewayConfig& config) {
  ConfigErrors errors;
  auto top = [&](std::string path, std::string message) {
    errors.push_back({config.source_file, 0, 0, std::move(path), std::move(message)});
  };
  const ServerConfig& s = config.server;
  if (s.host.empty()) top("server.host", "must not be empty");
  if (s.threads < 0) top("server.threads", "must not be negative");
  if (s.max_body_bytes == 0) top("server.max_body_size", "must be greater than 0");
  if (s.shutdown_grace.count() < 0) top("server.shutdown_grace", "must not be negative");
  if (s.idle_timeout.count() <= 0) top("server.idle_timeout", "must be positive");
  if (s.write_timeout.count() <= 0) top("server.write_timeout", "must be positive");
  if (s.max_response_bytes == 0) top("server.max_response_size", "must be greater than 0");
  if (s.upstream_idle_timeout.count() < 0) top("server.upstream_idle_timeout", "must not be negative");
  if (config.master_key && config.master_key->empty()) top("master_key", "must not be empty");
  for (size_t i = 0; i < config.api_keys.size(); ++i)
    if (config.api_keys[i].empty()) top("api_keys[" + std::to_string(i) + "]", "must not be empty");

  auto guard = UpstreamPolicy::compile(config.upstream_guard);
  if (!guard) for (auto& e : guard.error()) top("admin.allowed_upstreams", e);
  std::map<std::string, std::pair<size_t, const ProviderConfig*>> ids;
  for (size_t i = 0; i < config.providers.size(); ++i) {
    const ProviderConfig& p = config.providers[i];
    std::string prefix =
        p.source.key_path.empty() ? "providers[" + std::to_string(i) + "]" : p.source.key_path;
    auto fail = [&](const std::string& field, std::string message) {
      errors.push_back({p.source.file.empty() ? config.source_file : p.source.file,
                        p.source.line, 0, field.empty() ? prefix : prefix + "." + field,
                        std::move(message)});
    };
    if (p.id.empty()) {
      fail("id", "a provider needs an id");
    } else if (!is_valid_provider_id(p.id)) {
      fail("id", "provider id " + quoted(p.id) +
                     " may only contain letters, digits, '.', '_' and '-'");
    } else if (auto [it, fresh] = ids.emplace(p.id, std::pair{i, &p}); !fresh) {
      const ProviderConfig& first = *it->second.second;
      fail("id", "duplicate provider id " + quoted(p.id) + " (first defined " +
                     (first.source.line > 0 ? "at line " + std::to_string(first.source.line)
                                            : "as providers[" + std::to_string(it->second.first) +
                                                  "]") +
                     ")");
    }
    validate_provider(p, prefix, fail);
    if (auto refused = guard ? guard->refuse_host(url_host(p.base_url)) : std::nullopt) fail("base_url", *refused);
  }

  std::set<std::string> route_names;
  for (const ModelRouteConfig& r : config.models) {
    std::string prefix = "models." + r.name;
    auto fail = [&](const std::string& field, std::string message) {
      top(field.empty() ? prefix : prefix + "." + field, std::move(message));
    };
    validate_route(config, r, fail);
    if (!route_names.insert(r.name).second) fail("", "model " + quoted(r.name) + " is routed twice");
    for (size_t i = 0; i < r.aliases.size(); ++i)
      if (!route_names.insert(r.aliases[i]).second)
        fail("aliases[" + std::to_string(i) + "]", quoted(r.aliases[i]) + " already names another routed model");
  }
  validate_router(config.router, [&](const std::string& field, std::string message) {
    top("router." + field, std::move(message));
  });
  if (!config.alerts.webhook.empty())
    if (auto url = normalize_base_url(config.alerts.webhook); !url) top("alerts.webhook", url.error());
  return errors;
}

}  // namespace llmux
