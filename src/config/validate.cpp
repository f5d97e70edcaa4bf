// Rules that hold for any GatewayConfig, whether loaded from a file or built in code.
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <boost/json/parse.hpp>

#include "config/config_internal.hpp"

namespace llmux {

using namespace config_detail;

namespace {

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

void validate_provider(const ProviderConfig& p, const std::string& prefix,
                       const std::function<void(const std::string&, std::string)>& fail) {
  if (p.type != kOpenAICompatible && p.type != kAnthropic) {
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
    if (!(m.input_price_per_mtok >= 0) || !std::isfinite(m.input_price_per_mtok))
      fail(path + ".pricing.input", "must be a number >= 0");
    if (!(m.output_price_per_mtok >= 0) || !std::isfinite(m.output_price_per_mtok))
      fail(path + ".pricing.output", "must be a number >= 0");
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
  }
  return errors;
}

}  // namespace llmux
