#include "admin/provider_json.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <cstdint>

#include "config/config_internal.hpp"
#include "admin/provider_reads.hpp"
#include "config/key_scopes.hpp"
#include "store/yaml_util.hpp"

namespace llmux::admin {

namespace bjson = boost::json;
using config_detail::fold;

namespace {

// Mappings whose keys are the user's own names (header names, request parameters), not settings.
bool holds_user_keys(std::string_view key) {
  std::string k = fold(key);
  return k == "headers" || k == "customheaders" || k == "defaultparams";
}

std::string number_text(double d) {
  char buf[32];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, d).ptr);
}

YAML::Node to_yaml(const bjson::value& v) {
  switch (v.kind()) {
    case bjson::kind::null: return YAML::Node(YAML::NodeType::Null);
    case bjson::kind::bool_: return YAML::Node(v.get_bool() ? "true" : "false");
    case bjson::kind::int64: return YAML::Node(std::to_string(v.get_int64()));
    case bjson::kind::uint64: return YAML::Node(std::to_string(v.get_uint64()));
    case bjson::kind::double_: return YAML::Node(number_text(v.get_double()));
    case bjson::kind::string: return store::text_node(std::string(v.get_string()));
    case bjson::kind::array: {
      YAML::Node list(YAML::NodeType::Sequence);
      for (const auto& item : v.get_array()) list.push_back(to_yaml(item));
      return list;
    }
    case bjson::kind::object: {
      YAML::Node map(YAML::NodeType::Map);
      for (const auto& [key, item] : v.get_object()) map[std::string(key)] = to_yaml(item);
      return map;
    }
  }
  return YAML::Node();
}

const char* kind_name(const bjson::value& v) {
  switch (v.kind()) {
    case bjson::kind::null: return "null";
    case bjson::kind::bool_: return "a boolean";
    case bjson::kind::int64:
    case bjson::kind::uint64:
    case bjson::kind::double_: return "a number";
    case bjson::kind::string: return "a string";
    case bjson::kind::array: return "an array";
    case bjson::kind::object: return "an object";
  }
  return "a value";
}

// "${NAME}" alone: a reference to the environment, not a key.
bool is_env_reference(std::string_view text) {
  if (text.size() < 4 || text.substr(0, 2) != "${" || text.back() != '}') return false;
  return text.find('}') == text.size() - 1;
}

// ClosedPaw's ProviderType values the loader does not know by that name.
std::string short_form_type(std::string_view type) {
  std::string lower = config_detail::to_lower(type);
  if (lower == "google") return "gemini";
  return std::string(type);
}

// The key of `map` that means the same as `key` (the same key with another spelling), if any.
std::optional<std::string> same_key(const YAML::Node& map, const std::string& key, bool user_keys) {
  if (!map.IsMap()) return std::nullopt;
  std::string wanted = user_keys ? key : fold(key);
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string& k = it->first.Scalar();
    if (user_keys ? k == wanted : fold(k) == wanted) return k;
  }
  return std::nullopt;
}

YAML::Node merge(const YAML::Node& base, const YAML::Node& patch, bool user_keys) {
  if (!patch.IsMap()) return YAML::Clone(patch);
  if (!base.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (auto it = patch.begin(); it != patch.end(); ++it)
      if (!it->second.IsNull()) out[it->first.Scalar()] = merge(YAML::Node(), it->second, holds_user_keys(it->first.Scalar()));
    return out;
  }
  YAML::Node out(YAML::NodeType::Map);
  std::vector<std::string> used;
  for (auto it = base.begin(); it != base.end(); ++it) {
    const std::string& key = it->first.Scalar();
    std::optional<std::string> patched;
    for (auto p = patch.begin(); p != patch.end(); ++p) {
      const std::string& pk = p->first.Scalar();
      if (user_keys ? pk == key : fold(pk) == fold(key)) patched = pk;
    }
    if (!patched) {
      out[key] = YAML::Clone(it->second);
      continue;
    }
    used.push_back(*patched);
    YAML::Node value = patch[*patched];
    if (value.IsNull()) continue;
    // Written in the client's spelling, so the loader's errors name the field as sent.
    out[*patched] = merge(it->second, value, !user_keys && holds_user_keys(key));
  }
  for (auto p = patch.begin(); p != patch.end(); ++p) {
    const std::string& pk = p->first.Scalar();
    if (std::find(used.begin(), used.end(), pk) != used.end() || p->second.IsNull()) continue;
    out[pk] = merge(YAML::Node(), p->second, !user_keys && holds_user_keys(pk));
  }
  return out;
}

YAML::Node canonical(const YAML::Node& node, bool user_keys) {
  if (node.IsSequence()) {
    YAML::Node list(YAML::NodeType::Sequence);
    for (const auto& item : node) list.push_back(canonical(item, false));
    return list;
  }
  if (!node.IsMap()) return YAML::Clone(node);
  YAML::Node map(YAML::NodeType::Map);
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
    std::string name = user_keys ? key : config_detail::to_snake(key);
    map[name] = canonical(it->second, !user_keys && holds_user_keys(key));
  }
  return map;
}

// A loader path ("models[0].context_window") in the client's spelling of `settings`
// ("models[0].contextWindow"): each key segment takes the spelling of the key it matches.
std::string respell(const std::string& path, const YAML::Node& settings) {
  std::string out;
  YAML::Node at = settings;
  bool user_keys = false;
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '[') {
      size_t close = path.find(']', pos);
      if (close == std::string::npos) return out + path.substr(pos);
      size_t index = 0;
      std::from_chars(path.data() + pos + 1, path.data() + close, index);
      at = at.IsSequence() && index < at.size() ? at[index] : YAML::Node();
      out += path.substr(pos, close + 1 - pos);
      pos = close + 1;
      continue;
    }
    if (path[pos] == '.') {
      out += '.';
      ++pos;
      continue;
    }
    size_t end = path.find_first_of(".[", pos);
    if (end == std::string::npos) end = path.size();
    std::string segment = path.substr(pos, end - pos);
    auto spelled = same_key(at, segment, user_keys);
    out += spelled.value_or(segment);
    bool next_user = !user_keys && holds_user_keys(segment);
    at = spelled ? at[*spelled] : YAML::Node();
    user_keys = next_user;
    pos = end;
  }
  return out;
}

// A header value for an answer: references (${VAR}, {api_key}) as written, anything that may be a
// credential masked after its scheme ("Bearer ****abcd").
std::string shown_header(std::string_view name, std::string_view value, const Secret& key) {
  bool holds_key = !key.empty() && value.find(key.reveal()) != std::string_view::npos;
  bool reference = value.find("${") != std::string_view::npos || value.find("{api_key}") != std::string_view::npos;
  if (!holds_key && (reference || !config_detail::is_sensitive_header(name))) return std::string(value);
  size_t space = value.find(' ');
  if (space != std::string_view::npos && space + 1 < value.size())
    return std::string(value.substr(0, space + 1)) + mask_secret(value.substr(space + 1));
  return mask_secret(value);
}

double usd(int64_t micro) { return static_cast<double>(micro) / 1e6; }

bjson::object model_json(const ModelConfig& m) {
  bjson::object o;
  o["id"] = m.id;
  o["name"] = m.name.empty() ? m.id : m.name;
  if (m.upstream_id != m.id && !m.upstream_id.empty()) o["upstreamId"] = m.upstream_id;
  if (!m.aliases.empty()) {
    bjson::array aliases;
    for (const auto& a : m.aliases) aliases.emplace_back(a);
    o["aliases"] = std::move(aliases);
  }
  o["contextWindow"] = m.context_window ? bjson::value(*m.context_window) : bjson::value(nullptr);
  if (m.prices.any()) {
    // USD per 1M tokens, as GET /api/providers shows them.
    bjson::object pricing{{"input", usd(m.prices.input)}, {"output", usd(m.prices.output)}};
    if (m.prices.cached_input) pricing["cachedInput"] = usd(*m.prices.cached_input);
    if (m.prices.cache_write) pricing["cacheWrite"] = usd(*m.prices.cache_write);
    if (m.prices.reasoning) pricing["reasoning"] = usd(*m.prices.reasoning);
    o["pricing"] = std::move(pricing);
  } else {
    o["pricing"] = nullptr;
  }
  return o;
}

}  // namespace

std::string invalid_id_message(const std::string& id) {
  return "invalid provider name \"" + id + "\": use letters, digits, '.', '_' and '-'";
}

Expected<ProviderInput, FieldErrors> parse_provider_body(std::string_view body, BodyMode mode) {
  FieldErrors errors;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return unexpected(FieldErrors{{"", "the body is empty: send the provider's settings as a JSON object"}});
  boost::system::error_code ec;
  bjson::value parsed = bjson::parse(body, ec);
  if (ec) return unexpected(FieldErrors{{"", "the body is not valid JSON: " + ec.message()}});
  if (!parsed.is_object())
    return unexpected(FieldErrors{{"", std::string("expected a JSON object of provider settings, got ") + kind_name(parsed)}});
  const bjson::object& o = parsed.get_object();
  bool short_form = o.contains("provider_type");
  ProviderInput in;
  std::string name_field;
  auto text_of = [&](std::string_view key, const bjson::value& v) -> std::optional<std::string> {
    if (v.is_string()) return std::string(v.get_string());
    errors.push_back({std::string(key), std::string("expected a string, got ") + kind_name(v)});
    return std::nullopt;
  };
  for (const auto& [key_view, value] : o) {
    std::string key(key_view);
    std::string k = fold(key);
    in.fields.push_back(key);
    if (k == "id") {
      if (value.is_null()) continue;
      if (auto s = text_of(key, value)) in.id = *s;
      continue;
    }
    if (k == "apikey") {
      if (value.is_null() || (value.is_string() && value.get_string().empty())) {
        in.remove_api_key = mode == BodyMode::patch;
        continue;
      }
      auto s = text_of(key, value);
      if (!s) continue;
      if (is_env_reference(*s)) in.settings[key] = store::text_node(*s);
      else if (config_detail::has_control_chars(*s))
        errors.push_back({key, "must not contain line breaks or control characters"});
      else in.api_key = Secret(std::move(*s));
      continue;
    }
    if (k == "providertype") {
      if (o.contains("type")) {
        errors.push_back({key, "give type or provider_type, not both"});
        continue;
      }
      if (auto s = text_of(key, value)) in.settings["type"] = store::text_node(short_form_type(*s));
      continue;
    }
    if (value.is_null() && mode == BodyMode::whole) continue;
    if (k == "name" && value.is_string()) name_field = std::string(value.get_string());
    if (short_form && k == "timeout" && value.is_number()) {
      // ClosedPaw's timeout is in seconds; the loader reads a bare number as milliseconds.
      in.settings[key] = number_text(value.to_number<double>()) + "s";
      continue;
    }
    if (short_form && k == "ratelimit" && value.is_number()) {
      // ClosedPaw's rate_limit is requests per minute.
      YAML::Node limits(YAML::NodeType::Map);
      limits["rpm"] = to_yaml(value);
      in.settings[key] = limits;
      continue;
    }
    in.settings[key] = to_yaml(value);
  }
  in.name = name_field;
  if (!in.id.empty() && !config_detail::is_valid_provider_id(in.id))
    errors.push_back({"id", invalid_id_message(in.id)});
  if (!errors.empty()) return unexpected(std::move(errors));
  return in;
}

YAML::Node merge_settings(const YAML::Node& base, const YAML::Node& patch) { return merge(base, patch, false); }

YAML::Node canonical_settings(const YAML::Node& settings) { return canonical(settings, false); }

FieldErrors field_errors(const ConfigErrors& errors, const std::string& id, const YAML::Node& settings) {
  FieldErrors out;
  std::string own = "providers." + id;
  for (const auto& e : errors) {
    std::string field = e.key_path;
    if (field == own) field.clear();
    else if (field.rfind(own + ".", 0) == 0) field = respell(field.substr(own.size() + 1), settings);
    out.push_back({std::move(field), e.message});
  }
  return out;
}

std::string joined_message(const FieldErrors& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += "; ";
    out += e.field.empty() ? e.message : e.field + ": " + e.message;
  }
  return out;
}

std::string mask_secret(std::string_view secret) { return Secret(std::string(secret)).redacted(); }

std::string provider_etag(const YAML::Node& settings) { return etag_of(YAML::Dump(settings)); }

bjson::object provider_json(const ProviderView& view) {
  const ProviderConfig& c = *view.config;
  bjson::object o;
  o["id"] = c.id;
  o["name"] = c.name.empty() ? c.id : c.name;
  o["type"] = c.type;
  o["enabled"] = c.enabled;
  o["origin"] = view.origin;
  o["default"] = view.is_default;
  o["baseUrl"] = c.base_url;
  o["priority"] = c.priority;
  o["timeout"] = c.timeout.count();
  o["maxRetries"] = c.max_retries;
  o["responses"] = serves_responses(c);  // whether POST /v1/responses passes through to it
  o["defaultModel"] = c.default_model.empty() ? bjson::value(nullptr) : bjson::value(c.default_model);
  bjson::array models;
  for (const auto& m : c.models) models.push_back(model_json(m));
  o["models"] = std::move(models);
  o["authType"] = config_detail::auth_style_name(c.auth);
  if (c.auth == AuthStyle::header) o["authHeader"] = c.auth_header;
  o["apiKey"] = c.api_key.empty() ? bjson::value(nullptr) : bjson::value(mask_secret(c.api_key.reveal()));
  YAML::Node written_headers = view.written ? store::get_key(*view.written, "headers") : YAML::Node();
  bjson::array headers;  // [{"name","value"}], the shape of GET /api/providers
  for (const auto& h : c.headers) {
    std::string value = h.value;
    if (written_headers.IsMap())
      if (auto key = same_key(written_headers, h.name, true); key && written_headers[*key].IsScalar())
        value = written_headers[*key].Scalar();
    headers.push_back(bjson::object{{"name", h.name}, {"value", shown_header(h.name, value, c.api_key)}});
  }
  o["headers"] = std::move(headers);
  const auto& limits = c.governance.limits;
  if (limits.any()) {
    bjson::object rate;
    if (limits.rpm) rate["rpm"] = limits.rpm;
    if (limits.rph) rate["rph"] = limits.rph;
    if (limits.tpm) rate["tpm"] = limits.tpm;
    if (limits.concurrent) rate["concurrent"] = limits.concurrent;
    o["rateLimit"] = std::move(rate);
  } else {
    o["rateLimit"] = nullptr;
  }
  const auto& budget = c.governance.budget;
  if (budget.any() || budget.alert_threshold > 0) {
    bjson::object b;
    if (budget.daily_micro_usd) b["daily"] = usd(budget.daily_micro_usd);
    if (budget.monthly_micro_usd) b["monthly"] = usd(budget.monthly_micro_usd);
    if (budget.alert_threshold > 0) b["alertThreshold"] = budget.alert_threshold;
    o["budget"] = std::move(b);
  } else {
    o["budget"] = nullptr;
  }
  boost::system::error_code ec;
  bjson::value params = c.default_params_json.empty() ? bjson::value(nullptr) : bjson::parse(c.default_params_json, ec);
  o["defaultParams"] = ec ? bjson::value(nullptr) : params;
  bjson::array dropped;
  for (const auto& name : c.drop_params) dropped.emplace_back(name);
  o["dropParams"] = std::move(dropped);
  return o;
}

}  // namespace llmux::admin
