// Reads YAML (and JSON, as YAML) into a GatewayConfig, collecting every error with its position.
//
// Errors come from two places: the loader reports what it sees in the document (unknown keys,
// wrong types, bad scalars) at the exact node, and validate_config checks the finished structs.
// Validation knows only canonical key paths (providers.x.base_url), so the loader remembers where
// each canonical path was written and rewrites those errors to the user's spelling and position.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <span>
#include <tuple>

#include <yaml-cpp/yaml.h>

#include "config/admin_keys.hpp"
#include "config/config_internal.hpp"
#include "config/governance_keys.hpp"
#include "config/key_scopes.hpp"
#include "config/presets.hpp"
#include "config/provider_apis.hpp"
#include "config/server_tls_keys.hpp"
#include "config/upstream_policy.hpp"
#include "config/aws_keys.hpp"
#include "config/tls_keys.hpp"
#include "config/vertex_keys.hpp"
#include "core/json_text.hpp"
#include "governance/prices.hpp"

namespace llmux {

using namespace config_detail;

namespace {

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::vector<std::string> scalar_keys(const YAML::Node& map) {
  std::vector<std::string> keys;
  for (auto it = map.begin(); it != map.end(); ++it)
    if (it->first.IsScalar()) keys.push_back(it->first.Scalar());
  return keys;
}

std::string describe(const YAML::Node& node) {
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  if (node.IsNull()) return "nothing";
  return "a single value";
}

struct Loc {
  int line = 0;
  int column = 0;
};

// An empty value's mark points at the next token, so empty values take their key's position.
Loc loc_of(const YAML::Node& node, Loc fallback) {
  YAML::Mark mark = node.Mark();
  if (mark.is_null() || node.IsNull()) return fallback;
  return {mark.line + 1, mark.column + 1};
}

// A node plus where it is: `path` as the user spelled the keys, `canon` with canonical names.
struct Item {
  YAML::Node node;
  Loc loc;
  std::string path;
  std::string canon;
};

Item element(const Item& list, size_t index) {
  std::string suffix = "[" + std::to_string(index) + "]";
  YAML::Node node = list.node[index];
  return {node, loc_of(node, list.loc), list.path + suffix, list.canon + suffix};
}


// YAML 1.2 core schema number: [-+]? ( .digits | digits[.digits] ) ([eE][-+]?digits)?
bool looks_like_number(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t count = digits();
  if (i < s.size() && s[i] == '.') ++i, count += digits();
  if (count == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

// Types an unquoted YAML scalar the way YAML's core schema would, as JSON text.
std::string json_scalar(const std::string& text) {
  std::string lower = to_lower(text);
  if (lower == "true" || lower == "false") return lower;
  if (lower == "null" || text == "~") return "null";
  if (looks_like_number(text)) {
    std::string_view digits = text;
    if (digits.front() == '+') digits.remove_prefix(1);
    const char* end = digits.data() + digits.size();
    int64_t whole = 0;
    if (auto r = std::from_chars(digits.data(), end, whole); r.ec == std::errc() && r.ptr == end)
      return std::to_string(whole);
    double real = 0;
    if (auto r = std::from_chars(digits.data(), end, real);
        r.ec == std::errc() && r.ptr == end && std::isfinite(real)) {
      char buf[32];
      return std::string(buf, std::to_chars(buf, buf + sizeof buf, real).ptr);
    }
  }
  std::string out;
  append_json_string(out, text);
  return out;
}

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  GatewayConfig load(const YAML::Node& root) {
    GatewayConfig config;
    config.source_file = file_;
    if (root.IsNull()) return config;  // an empty file: no providers yet
    Item top{root, loc_of(root, {1, 1}), "", ""};
    if (root.IsSequence()) {
      load_providers({root, top.loc, "providers", "providers"}, config);
      return config;
    }
    if (!root.IsMap()) {
      fail(top, "expected a mapping of settings or a list of providers");
      return config;
    }
    if (is_single_provider(scalar_keys(root)) && !is_routed_models_only(root)) {
      // One provider written alone, as provider docs show them: a list of one. Its keys are
      // reported as written (no "providers" prefix the file does not have).
      Item entry{root, top.loc, "", "providers[0]"};
      config.providers.push_back(load_provider(entry, entry.loc, std::nullopt));
      return config;
    }
    auto f = fields(top, kTopScope);
    if (auto* i = get(f, "server")) load_server(*i, config.server);
    if (auto* i = get(f, "metrics")) load_metrics(*i, config.metrics);
    if (auto* i = get(f, "providers")) load_providers(*i, config);
    if (auto* i = get(f, "master_key"))
      if (auto s = text(*i); s && !s->empty()) config.master_key = Secret(std::move(*s));
    // Empty entries let a list name optional keys: - ${EXTRA_KEY:-}
    if (auto* i = get(f, "api_keys")) {  // keys, or mappings with a key and its limits
      config_detail::GovernanceIssues issues;
      read_api_keys(i->node, i->path, config, issues);
      report(issues, i->loc);
    }
    if (auto* i = get(f, "admin_key"))
      if (auto s = text(*i)) if (auto bad = set_admin_key(config, std::move(*s))) fail(*i, *bad);
    if (auto* i = get(f, "state_dir"))
      if (auto s = text(*i)) config.state_dir = std::move(*s);
    if (auto* i = get(f, "models")) load_model_routes(*i, config.models);
    if (auto* i = get(f, "router")) load_router(*i, config.router);
    if (auto* i = get(f, "alerts")) load_alerts(*i, config.alerts);
    if (auto* i = get(f, "ledger")) load_ledger(*i, config.ledger);
    if (auto* i = get(f, "logging")) load_logging(*i, config.logging);
    if (auto* i = get(f, "admin")) report(read_upstream_guard(i->node, i->path, config.upstream_guard), i->loc);
    return config;
  }

  // Adds validate_config's findings, except those about something already reported.
  ConfigErrors finish(const GatewayConfig& config) {
    for (ConfigError error : validate_config(config)) {
      translate(error);
      if (!covered(error.key_path)) errors_.push_back(std::move(error));
    }
    auto order = [](const ConfigError& e) { return std::tuple(e.line == 0, e.line, e.column); };
    std::stable_sort(errors_.begin(), errors_.end(),
                     [&](const auto& a, const auto& b) { return order(a) < order(b); });
    return std::move(errors_);
  }

 private:
  struct Field {
    Item item;
    std::string key;  // as written
    Loc key_loc;
  };
  using Fields = std::map<std::string, Field, std::less<>>;

  struct Known {
    std::string path;
    Loc loc;
    bool ambiguous = false;  // written twice (duplicate map keys): don't guess which
  };

  void fail(Loc loc, std::string path, std::string message) {
    covered_.push_back(path);
    errors_.push_back({file_, loc.line, loc.column, std::move(path), std::move(message)});
  }
  void fail(const Item& at, std::string message) { fail(at.loc, at.path, std::move(message)); }

  void remember(const Item& item) {
    auto [it, fresh] = known_.try_emplace(item.canon, Known{item.path, item.loc});
    if (!fresh) it->second.ambiguous = true;
  }

  // Rewrites a canonical key path to the user's spelling and position (longest known prefix).
  void translate(ConfigError& error) const {
    std::string prefix = error.key_path;
    while (!prefix.empty()) {
      if (auto it = known_.find(prefix); it != known_.end()) {
        if (it->second.ambiguous) return;
        std::string rest = error.key_path.substr(prefix.size());
        if (it->second.path.empty() && !rest.empty() && rest.front() == '.') rest.erase(0, 1);
        error.key_path = it->second.path + rest;
        if (it->second.loc.line > 0) {
          error.line = it->second.loc.line;
          error.column = it->second.loc.column;
        }
        return;
      }
      size_t cut = prefix.find_last_of(".[");
      prefix.resize(cut == std::string::npos ? 0 : cut);
    }
  }

  bool covered(const std::string& path) const {
    return std::any_of(covered_.begin(), covered_.end(), [&](const std::string& c) {
      return path.compare(0, c.size(), c) == 0 &&
             (path.size() == c.size() || c.empty() || path[c.size()] == '.' ||
              path[c.size()] == '[');
    });
  }

  static const Item* get(const Fields& fields, std::string_view name) {
    auto it = fields.find(name);
    return it == fields.end() ? nullptr : &it->second.item;
  }

  // Checks a mapping's keys against `specs` and returns its values by canonical key name.
  Fields fields(const Item& map, const Scope& scope) {
    Fields out;
    for (auto it = map.node.begin(); it != map.node.end(); ++it) {
      Loc key_loc = loc_of(it->first, map.loc);
      if (!it->first.IsScalar()) {
        fail(key_loc, map.path, "keys must be plain names, not " + describe(it->first));
        continue;
      }
      const std::string& key = it->first.Scalar();
      std::string path = join(map.path, key);
      const KeySpec* spec = find_spec(scope.keys, key);
      if (!spec) {
        std::optional<Suggestion> hint;
        std::string message = unknown_key_message(key, scope, hint);
        // The setting they meant is missing because of the typo; say so only once.
        if (hint) covered_.push_back(join(map.path, hint->canonical));
        fail(key_loc, path, std::move(message));
        continue;
      }
      std::string name(spec->name);
      if (auto prev = out.find(name); prev != out.end()) {
        const Field& first = prev->second;
        fail(key_loc, path,
             (first.key == key ? "duplicate key " + quoted(key)
                               : quoted(key) + " sets the same thing as " + quoted(first.key)) +
                 " (first at line " + std::to_string(first.key_loc.line) + ")");
        continue;
      }
      Item item{it->second, loc_of(it->second, key_loc), path, join(map.canon, name)};
      remember(item);
      out.emplace(name, Field{std::move(item), key, key_loc});
    }
    return out;
  }

  // A string scalar after ${VAR} expansion; nullopt when empty (null) or on error.
  std::optional<std::string> text(const Item& item) {
    if (item.node.IsNull()) return std::nullopt;
    if (!item.node.IsScalar()) {
      fail(item, "expected a string, got " + describe(item.node));
      return std::nullopt;
    }
    auto expanded = expand_env(item.node.Scalar());
    if (!expanded) {
      fail(item, expanded.error());
      return std::nullopt;
    }
    return std::move(*expanded);
  }

  std::optional<int64_t> integer(const Item& item, int64_t min, int64_t max) {
    auto s = text(item);
    if (!s) return std::nullopt;
    int64_t value = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), value);
    if (ec != std::errc() || end != s->data() + s->size()) {
      fail(item, "expected a whole number, got " + quoted(*s));
      return std::nullopt;
    }
    if (value < min || value > max) {
      fail(item, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return std::nullopt;
    }
    return value;
  }

  std::optional<int> int32(const Item& item) {
    auto value = integer(item, INT_MIN, INT_MAX);
    return value ? std::optional<int>(static_cast<int>(*value)) : std::nullopt;
  }

  std::optional<double> number(const Item& item) {
    auto s = text(item);
    if (!s) return std::nullopt;
    double value = 0;
    std::string_view digits = *s;
    if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (!looks_like_number(*s) || ec != std::errc() || end != digits.data() + digits.size() ||
        !std::isfinite(value)) {
      fail(item, "expected a number, got " + quoted(*s));
      return std::nullopt;
    }
    return value;
  }

  std::optional<bool> boolean(const Item& item) {
    auto s = text(item);
    if (!s) return std::nullopt;
    std::string lower = to_lower(*s);
    if (lower == "true" || lower == "false") return lower == "true";
    fail(item, "expected true or false, got " + quoted(*s));
    return std::nullopt;
  }

  std::optional<std::chrono::milliseconds> duration(const Item& item) {
    auto s = text(item);
    if (!s) return std::nullopt;
    auto value = parse_duration(*s);
    if (!value) fail(item, value.error());
    return value ? std::optional(*value) : std::nullopt;
  }

  // A list of strings; a single string counts as a list of one.
  std::vector<std::string> text_list(const Item& item) {
    std::vector<std::string> out;
    if (item.node.IsScalar()) {
      if (auto s = text(item)) out.push_back(std::move(*s));
    } else if (item.node.IsSequence()) {
      for (size_t i = 0; i < item.node.size(); ++i) {
        Item entry = element(item, i);
        remember(entry);
        if (auto s = text(entry)) out.push_back(std::move(*s));
      }
    } else if (!item.node.IsNull()) {
      fail(item, "expected a list of strings, got " + describe(item.node));
    }
    return out;
  }

  bool expect_map(const Item& item, const char* what) {
    if (item.node.IsMap()) return true;
    if (!item.node.IsNull())
      fail(item, std::string("expected ") + what + ", got " + describe(item.node));
    return false;
  }

  void byte_size(const Item* item, uint64_t& out) {
    if (!item) return;
    if (auto s = text(*item)) {
      if (auto bytes = parse_byte_size(*s)) out = *bytes;
      else fail(*item, bytes.error());
    }
  }

  void load_server(const Item& item, ServerConfig& server) {
    if (!expect_map(item, "a mapping of server settings")) return;
    auto f = fields(item, kServerScope);
    if (auto* i = get(f, "host"))
      if (auto s = text(*i)) server.host = std::move(*s);
    if (auto* i = get(f, "port"))
      if (auto v = integer(*i, 0, 65535)) server.port = static_cast<uint16_t>(*v);
    if (auto* i = get(f, "threads"))
      if (auto v = int32(*i)) server.threads = *v;
    byte_size(get(f, "max_body_size"), server.max_body_bytes);
    byte_size(get(f, "max_response_size"), server.max_response_bytes);
    if (auto* i = get(f, "upstream_idle_timeout"))
      if (auto v = duration(*i)) server.upstream_idle_timeout = *v;
    if (auto* i = get(f, "shutdown_grace"))
      if (auto v = duration(*i)) server.shutdown_grace = *v;
    if (auto* i = get(f, "idle_timeout"))
      if (auto v = duration(*i)) server.idle_timeout = *v;
    if (auto* i = get(f, "write_timeout"))
      if (auto v = duration(*i)) server.write_timeout = *v;
    if (auto* i = get(f, "max_connections"))
      if (auto v = integer(*i, 1, 10'000'000)) server.max_connections = *v;
    if (auto* i = get(f, "cors")) load_cors(*i, server.cors);
    if (auto* i = get(f, "tls")) load_server_tls(*i, server.tls);
  }

  void load_server_tls(const Item& item, ServerTlsConfig& tls) {
    if (!expect_map(item, "a mapping with cert, key and min_version")) return;
    for (auto& [name, field] : fields(item, kServerTlsScope))
      if (auto s = text(field.item))
        if (auto problem = set_server_tls_key(name, std::move(*s), tls); !problem.empty()) fail(field.item, problem);
    if (auto problem = incomplete_server_tls(tls); !problem.empty()) fail(item, problem);
  }

  void load_cors(const Item& item, CorsConfig& cors) {
    if (!expect_map(item, "a mapping with origins, headers and max_age")) return;
    auto f = fields(item, kCorsScope);
    if (auto* i = get(f, "origins")) {
      if (item_is_scalar(*i)) {
        if (auto s = text(*i)) cors.origins.push_back(std::move(*s));
      } else {
        cors.origins = text_list(*i);
      }
    }
    if (auto* i = get(f, "headers")) {
      std::string joined;
      std::vector<std::string> names;
      if (item_is_scalar(*i)) names.push_back(text(*i).value_or(""));
      else names = text_list(*i);
      for (auto& h : names) joined += (joined.empty() ? "" : ", ") + h;
      cors.headers = std::move(joined);
    }
    if (auto* i = get(f, "max_age"))
      if (auto v = integer(*i, 0, 86400)) cors.max_age = std::chrono::seconds(*v);
  }

  void load_metrics(const Item& item, MetricsConfig& metrics) {
    if (!expect_map(item, "a mapping of metrics settings")) return;
    auto f = fields(item, kMetricsScope);
    if (auto* i = get(f, "public"))
      if (auto v = boolean(*i)) metrics.public_access = *v;
  }

  static bool item_is_scalar(const Item& item) { return item.node.IsScalar(); }

  void load_providers(const Item& item, GatewayConfig& config) {
    if (item.node.IsSequence()) {
      for (size_t i = 0; i < item.node.size(); ++i) {
        Item entry = element(item, i);
        config.providers.push_back(load_provider(entry, entry.loc, std::nullopt));
      }
    } else if (item.node.IsMap()) {
      for (auto it = item.node.begin(); it != item.node.end(); ++it) {
        Loc key_loc = loc_of(it->first, item.loc);
        if (!it->first.IsScalar()) {
          fail(key_loc, item.path, "provider ids must be plain names, not " + describe(it->first));
          continue;
        }
        const std::string& id = it->first.Scalar();
        std::string path = join(item.path, id);
        Item entry{it->second, loc_of(it->second, key_loc), path, join(item.canon, id)};
        config.providers.push_back(load_provider(entry, key_loc, id));
      }
    } else if (!item.node.IsNull()) {
      fail(item, "expected a mapping of providers (id: {...}) or a list of providers, got " +
                     describe(item.node));
    }
  }

  // `where` is the provider's line: its id key in the map style, its list item otherwise.
  ProviderConfig load_provider(const Item& item, Loc where,
                               const std::optional<std::string>& key_id) {
    ProviderConfig p;
    p.source = {file_, where.line, item.canon};
    remember({item.node, where, item.path, item.canon});
    if (key_id) p.id = *key_id;
    if (!expect_map(item, "a mapping of provider settings")) {
      p.name = p.id;
      return p;
    }
    auto f = fields(item, kProviderScope);
    if (auto* i = get(f, "id")) {
      if (auto s = text(*i)) {
        if (key_id && *s != *key_id)
          fail(*i, "id " + quoted(*s) + " differs from the key " + quoted(*key_id) +
                       " the provider is listed under");
        else
          p.id = std::move(*s);
      }
    }
    if (auto* i = get(f, "name"))
      if (auto s = text(*i)) p.name = std::move(*s);
    const ProviderPreset* preset = nullptr;
    if (auto* i = get(f, "type")) {
      if (auto s = text(*i)) {
        preset = find_preset(*s);
        if (auto type = normalize_provider_type(*s)) p.type = std::move(*type);
        else fail(*i, type.error());
      }
    }
    if (auto* i = get(f, "base_url")) {
      if (auto s = text(*i)) {
        if (auto url = normalize_base_url(*s)) p.base_url = std::move(*url);
        else fail(*i, url.error());
      }
    }
    if (auto* i = get(f, "api_key"))
      if (auto s = text(*i)) p.api_key = Secret(std::move(*s));
    if (auto* i = get(f, "headers")) load_headers(*i, p);
    if (auto* i = get(f, "models")) {
      if (i->node.IsSequence()) {
        for (size_t n = 0; n < i->node.size(); ++n) p.models.push_back(load_model(element(*i, n)));
      } else if (!i->node.IsNull()) {
        fail(*i, "expected a list of models, got " + describe(i->node));
      }
    }
    if (auto* i = get(f, "default_model"))
      if (auto s = text(*i)) p.default_model = std::move(*s);
    if (auto* i = get(f, "default_params")) {
      std::string json;
      if (expect_map(*i, "a mapping of request parameters") && append_json(*i, json))
        p.default_params_json = std::move(json);
    }
    const Item* drop_params = get(f, "drop_params");
    if (drop_params) load_drop_params(*drop_params, p);
    if (auto* i = get(f, "enabled"))
      if (auto v = boolean(*i)) p.enabled = *v;
    if (auto* i = get(f, "priority"))
      if (auto v = int32(*i)) p.priority = *v;
    if (auto* i = get(f, "timeout"))
      if (auto v = duration(*i)) p.timeout = *v;
    if (auto* i = get(f, "max_retries"))
      if (auto v = int32(*i)) p.max_retries = *v;
    if (auto* i = get(f, "timeouts")) load_timeouts(*i, p.timeouts);
    if (auto* i = get(f, "resume"))
      if (auto v = resume_mode(*i)) p.resume_prefill = *v;
    config_detail::GovernanceIssues issues;
    if (auto* i = get(f, "rate_limit")) read_rate_limits(i->node, i->path, p.governance.limits, issues);
    if (auto* i = get(f, "budget")) read_budget(i->node, i->path, p.governance.budget, issues);
    report(issues, item.loc);
    if (auto* i = get(f, "api_version")) {
      if (auto s = text(*i)) {
        if (p.type != kAzureOpenAI) fail(*i, "api_version is an azure-openai setting (type: azure-openai)");
        else p.api_version = std::move(*s);
      }
    }
    if (auto* i = get(f, "responses"))
      if (auto v = boolean(*i)) {
        if (auto problem = responses_setting_problem(p.type)) fail(*i, *problem);
        else p.apis.responses = *v;
      }
    const Item* http_version = get(f, "http_version");
    if (http_version)
      if (auto s = text(*http_version)) {
        if (auto v = parse_http_version(*s)) p.http_version = *v;
        else fail(*http_version, v.error());
      }
    for (std::string_view key : kAwsKeys)
      if (auto* i = get(f, key))
        if (auto s = text(*i))
          if (auto problem = set_aws_key(key, std::move(*s), p); !problem.empty()) fail(*i, problem);
    for (std::string_view name : kVertexKeys)
      if (auto* i = get(f, name))
        if (auto s = text(*i))
          if (auto problem = set_vertex_key(p, name, std::move(*s)); !problem.empty()) fail(*i, problem);
    if (p.type == kVertexAI)
      for (auto& [key, problem] : finish_vertex_keys(p, get(f, "base_url") != nullptr)) fail(item.loc, join(item.path, key), problem);
    if (auto* i = get(f, "security")) read_tls_keys(*i, TlsKeyGroup::security, p.tls);
    if (auto* i = get(f, "tls")) read_tls_keys(*i, TlsKeyGroup::tls, p.tls);
    if (preset) apply_preset(*preset, p, get(f, "base_url") != nullptr, get(f, "api_key") != nullptr);
    if (p.type == kAnthropic && p.base_url.empty() && !get(f, "base_url")) p.base_url = kAnthropicBaseUrl;
    if (p.type == kGemini && p.base_url.empty() && !get(f, "base_url")) p.base_url = kGeminiBaseUrl;
    if (p.type == kOllama && p.base_url.empty() && !get(f, "base_url")) p.base_url = kOllamaBaseUrl;
    if (p.type == kCohere && p.base_url.empty() && !get(f, "base_url")) p.base_url = kCohereBaseUrl;
    if (auto problem = finish_aws_provider(p, get(f, "base_url") != nullptr); !problem.empty()) fail(item, problem);
    if (auto problem = http_version_problem(p)) fail(*http_version, *problem);
    load_auth(f, p);
    if (drop_params && !p.drop_params.empty())
      if (auto problem = drop_params_type_problem(p.type)) fail(*drop_params, *problem);
    if (p.name.empty()) p.name = p.id;
    return p;
  }

  // drop_params: [user, metadata, …], each a field of kDroppableParams.
  void load_drop_params(const Item& item, ProviderConfig& p) {
    if (!item.node.IsSequence()) {
      fail(item, "expected a list of request fields (drop_params: [user, metadata]), got " + describe(item.node));
      return;
    }
    for (size_t n = 0; n < item.node.size(); ++n) {
      Item entry = element(item, n);
      auto name = text(entry);
      if (!name) continue;
      if (auto problem = drop_param_problem(*name)) fail(entry, *problem);
      else p.drop_params.push_back(std::move(*name));
    }
  }

  void report(const config_detail::GovernanceIssues& issues, Loc fallback) {
    for (const auto& issue : issues) fail(loc_of(issue.node, fallback), issue.path, issue.message);
  }

  void read_tls_keys(const Item& item, TlsKeyGroup group, ProviderTlsConfig& tls) {
    load_tls_keys(item.node, group, tls, [&](const YAML::Node& at, std::string_view key, std::string message) {
      fail(loc_of(at, item.loc), key.empty() ? item.path : join(item.path, key), std::move(message));
    });
  }

  void load_auth(const Fields& f, ProviderConfig& p) {
    std::optional<AuthStyle> style;
    if (auto* i = get(f, "auth_type")) {
      if (auto s = text(*i)) {
        if (auto parsed = parse_auth_style(*s)) style = *parsed;
        else fail(*i, parsed.error());
      }
    }
    const Item* header_item = get(f, "auth_header");
    std::optional<std::string> header = header_item ? text(*header_item) : std::nullopt;
    if (header && !header->empty()) {
      // Naming a header other than Authorization only makes sense for the header style.
      bool authorization = iequals(*header, "Authorization");
      if (!style && !authorization) style = AuthStyle::header;
      if (style == AuthStyle::header) p.auth_header = std::move(*header);
      else if (!authorization)
        fail(*header_item, "auth_header is only used with auth_type: api-key (or header)");
    } else if (style == AuthStyle::header) {
      p.auth_header = p.type == kAnthropic ? kAnthropicKeyHeader : "api-key";
    } else if (!style && p.type == kAnthropic) {
      style = AuthStyle::header;  // Anthropic's own credential header
      p.auth_header = kAnthropicKeyHeader;
    } else if (!style && p.type == kAzureOpenAI) {
      style = AuthStyle::header;  // Azure's key header; auth_type: bearer sends an Entra ID token
      p.auth_header = "api-key";
    }
    p.auth = style.value_or(AuthStyle::bearer);
    if (p.api_key.empty()) p.auth = AuthStyle::none;
  }

  void load_headers(const Item& item, ProviderConfig& p) {
    if (!expect_map(item, "a mapping of header names to values")) return;
    for (auto it = item.node.begin(); it != item.node.end(); ++it) {
      Loc key_loc = loc_of(it->first, item.loc);
      if (!it->first.IsScalar()) {
        fail(key_loc, item.path, "header names must be plain names, not " + describe(it->first));
        continue;
      }
      const std::string& name = it->first.Scalar();
      Item value{it->second, loc_of(it->second, key_loc), join(item.path, name),
                 join(item.canon, name)};
      remember(value);
      if (value.node.IsNull()) {
        p.headers.push_back({name, ""});
      } else if (auto s = text(value)) {
        p.headers.push_back({name, std::move(*s)});  // {api_key} stays for the request builder
      }
    }
  }

  ModelConfig load_model(const Item& item) {
    ModelConfig m;
    remember(item);
    if (item.node.IsScalar()) {
      if (auto s = text(item)) m.id = std::move(*s);
    } else if (item.node.IsMap()) {
      auto f = fields(item, kModelScope);
      if (auto* i = get(f, "id"))
        if (auto s = text(*i)) m.id = std::move(*s);
      if (auto* i = get(f, "name"))
        if (auto s = text(*i)) m.name = std::move(*s);
      if (auto* i = get(f, "upstream_id"))
        if (auto s = text(*i)) m.upstream_id = std::move(*s);
      if (auto* i = get(f, "aliases")) m.aliases = text_list(*i);
      if (auto* i = get(f, "context_window"))
        if (auto v = integer(*i, INT64_MIN, INT64_MAX)) m.context_window = *v;
      load_prices(f, item, m);
    } else {
      fail(item, "expected a model id or a mapping of model settings, got " + describe(item.node));
    }
    if (m.upstream_id.empty()) m.upstream_id = m.id;
    if (m.name.empty()) m.name = m.id;
    return m;
  }

  // Each price has several spellings: pricing.input / input_price in USD per 1K tokens (the
  // list-style configs' unit), pricing.input_per_mtok / input_per_mtok in USD per 1M tokens. One
  // price given in two spellings is an error naming both: which one was meant is a guess.
  void load_prices(const Fields& f, const Item& model, ModelConfig& m) {
    Fields nested;
    if (auto* i = get(f, "pricing"); i && expect_map(*i, "a mapping of prices (input, output, input_per_mtok, ...)"))
      nested = fields(*i, kPricingScope);
    struct Spelling {
      const Fields* where;
      const char* key;
      int64_t per_tokens;
    };
    struct Price {
      const char* label;
      const char* canonical;  // where validate_config reports it
      std::optional<int64_t>* slot;
      std::vector<Spelling> spellings;
    };
    std::optional<int64_t> input, output;
    Price prices[] = {
        {"input", "input", &input,
         {{&nested, "input", governance::kPerThousand}, {&f, "input_price", governance::kPerThousand},
          {&nested, "input_per_mtok", governance::kPerMillion}, {&f, "input_per_mtok", governance::kPerMillion}}},
        {"output", "output", &output,
         {{&nested, "output", governance::kPerThousand}, {&f, "output_price", governance::kPerThousand},
          {&nested, "output_per_mtok", governance::kPerMillion}, {&f, "output_per_mtok", governance::kPerMillion}}},
        {"cached input", "cached_input_per_mtok", &m.prices.cached_input,
         {{&nested, "cached_input_per_mtok", governance::kPerMillion},
          {&f, "cached_input_per_mtok", governance::kPerMillion}}},
        {"cache write", "cache_write_per_mtok", &m.prices.cache_write,
         {{&nested, "cache_write_per_mtok", governance::kPerMillion},
          {&f, "cache_write_per_mtok", governance::kPerMillion}}},
        {"reasoning", "reasoning_per_mtok", &m.prices.reasoning,
         {{&nested, "reasoning_per_mtok", governance::kPerMillion},
          {&f, "reasoning_per_mtok", governance::kPerMillion}}},
    };
    auto name = [&](const Item& item) {  // the key as written, relative to the model
      return item.path.compare(0, model.path.size(), model.path) == 0 && item.path.size() > model.path.size()
                 ? item.path.substr(model.path.size() + 1)
                 : item.path;
    };
    auto unit = [](int64_t per_tokens) { return per_tokens == governance::kPerThousand ? "USD per 1K tokens" : "USD per 1M tokens"; };
    for (auto& price : prices) {
      const Item* chosen = nullptr;
      int64_t chosen_per = 0;
      for (const auto& spelling : price.spellings) {
        const Item* item = get(*spelling.where, spelling.key);
        if (!item) continue;
        if (chosen) {
          fail(*item, "the " + std::string(price.label) + " price is given twice: as " + name(*chosen) + " (" +
                          unit(chosen_per) + ") and as " + name(*item) + " (" + unit(spelling.per_tokens) +
                          "); keep one");
          continue;
        }
        chosen = item;
        chosen_per = spelling.per_tokens;
      }
      if (!chosen) continue;
      remember({chosen->node, chosen->loc, chosen->path, model.canon + ".pricing." + price.canonical});
      if (auto s = text(*chosen)) {
        if (auto v = governance::parse_price(*s, chosen_per)) *price.slot = *v;
        else fail(*chosen, v.error());
      }
    }
    m.prices.input = input.value_or(0);
    m.prices.output = output.value_or(0);
  }

  // A file holding only a models: mapping is the routing section, not a provider's model list.
  static bool is_routed_models_only(const YAML::Node& root) {
    return root.size() == 1 && root.begin()->first.IsScalar() &&
           to_snake(root.begin()->first.Scalar()) == "models" && root.begin()->second.IsMap();
  }

  // resume: prefill | none (false/off also turn it off).
  std::optional<bool> resume_mode(const Item& item) {
    auto s = text(item);
    if (!s) return std::nullopt;
    if (*s == "prefill") return true;
    if (*s == "none" || *s == "off" || *s == "false") return false;
    fail(item, "expected prefill or none, got " + quoted(*s));
    return std::nullopt;
  }

  void load_timeouts(const Item& item, ProviderTimeouts& t) {
    if (!expect_map(item, "a mapping with connect, headers, first_token, idle and total")) return;
    auto f = fields(item, kTimeoutScope);
    std::pair<const char*, std::optional<std::chrono::milliseconds>*> slots[] = {
        {"connect", &t.connect}, {"headers", &t.headers}, {"first_token", &t.first_token},
        {"idle", &t.idle}, {"total", &t.total}};
    for (auto [name, slot] : slots)
      if (auto* i = get(f, name)) *slot = duration(*i);
  }

  std::optional<BalanceStrategy> strategy(const Item& item) {
    auto s = text(item);
    if (!s) return std::nullopt;
    auto parsed = parse_balance_strategy(*s);
    if (!parsed) fail(item, parsed.error());
    return parsed ? std::optional(*parsed) : std::nullopt;
  }

  void load_model_routes(const Item& item, std::vector<ModelRouteConfig>& routes) {
    if (!expect_map(item, "a mapping of model names to their deployments (models: {NAME: {deployments: [...]}})"))
      return;
    for (auto it = item.node.begin(); it != item.node.end(); ++it) {
      Loc key_loc = loc_of(it->first, item.loc);
      if (!it->first.IsScalar()) {
        fail(key_loc, item.path, "model names must be plain names, not " + describe(it->first));
        continue;
      }
      const std::string& name = it->first.Scalar();
      Item entry{it->second, loc_of(it->second, key_loc), join(item.path, name), join(item.canon, name)};
      remember({entry.node, key_loc, entry.path, entry.canon});
      ModelRouteConfig route;
      route.name = name;
      if (expect_map(entry, "a mapping with deployments, strategy, context_fallbacks")) {
        auto f = fields(entry, kRouteScope);
        if (auto* i = get(f, "aliases")) route.aliases = text_list(*i);
        if (auto* i = get(f, "deployments")) load_deployments(*i, route.deployments);
        if (auto* i = get(f, "strategy")) route.strategy = strategy(*i);
        if (auto* i = get(f, "context_fallbacks")) route.context_fallbacks = text_list(*i);
        if (auto* i = get(f, "content_policy_fallback"))
          if (auto v = boolean(*i)) route.content_policy_fallback = *v;
      }
      routes.push_back(std::move(route));
    }
  }

  // [{provider, model, priority, weight}, ...]; "provider/model" alone is a deployment whose
  // priority is its position in the list.
  void load_deployments(const Item& item, std::vector<DeploymentConfig>& out) {
    if (!item.node.IsSequence()) {
      if (!item.node.IsNull()) fail(item, "expected a list of deployments, got " + describe(item.node));
      return;
    }
    for (size_t n = 0; n < item.node.size(); ++n) {
      Item entry = element(item, n);
      remember(entry);
      DeploymentConfig d;
      d.priority = static_cast<int>(n) + 1;
      // A deployment that cannot be read stays in the list, empty: its error is reported here, and
      // validate_config's findings about it (no provider) are covered by that error.
      if (entry.node.IsScalar()) {
        auto s = text(entry);
        size_t slash = s ? s->find('/') : std::string::npos;
        if (s && (slash == std::string::npos || slash == 0 || slash + 1 == s->size())) {
          fail(entry, "expected PROVIDER/MODEL or a mapping with provider and model, got " + quoted(*s));
        } else if (s) {
          d.provider = s->substr(0, slash);
          d.model = s->substr(slash + 1);
        }
      } else if (expect_map(entry, "a mapping with provider, model, priority and weight")) {
        auto f = fields(entry, kDeploymentScope);
        if (auto* i = get(f, "provider"))
          if (auto s = text(*i)) d.provider = std::move(*s);
        if (auto* i = get(f, "model"))
          if (auto s = text(*i)) d.model = std::move(*s);
        if (auto* i = get(f, "priority"))
          if (auto v = integer(*i, 1, 1000)) d.priority = static_cast<int>(*v);
        if (auto* i = get(f, "weight"))
          if (auto v = integer(*i, 1, 1'000'000)) d.weight = static_cast<int>(*v);
        if (auto* i = get(f, "resume"))
          if (auto v = resume_mode(*i)) d.resume_prefill = *v;
      }
      out.push_back(std::move(d));
    }
  }

  void load_router(const Item& item, RouterConfig& r) {
    if (!expect_map(item, "a mapping of router settings")) return;
    auto f = fields(item, kRouterScope);
    if (auto* i = get(f, "max_attempts"))
      if (auto v = integer(*i, 1, 100)) r.max_attempts = static_cast<int>(*v);
    if (auto* i = get(f, "max_resumes"))
      if (auto v = integer(*i, 0, 100)) r.max_resumes = static_cast<int>(*v);
    std::pair<const char*, std::chrono::milliseconds*> durations[] = {
        {"max_retry_wait", &r.max_retry_wait}, {"total_timeout", &r.total_timeout},
        {"max_request_timeout", &r.max_request_timeout}};
    for (auto [name, slot] : durations)
      if (auto* i = get(f, name))
        if (auto v = duration(*i)) *slot = *v;
    if (auto* i = get(f, "strategy"))
      if (auto v = strategy(*i)) r.strategy = *v;
    if (auto* i = get(f, "backoff"); i && expect_map(*i, "a mapping with base and cap")) {
      auto b = fields(*i, kBackoffScope);
      if (auto* j = get(b, "base"))
        if (auto v = duration(*j)) r.backoff_base = *v;
      if (auto* j = get(b, "cap"))
        if (auto v = duration(*j)) r.backoff_cap = *v;
    }
    if (auto* i = get(f, "breaker")) load_breaker(*i, r.breaker);
    if (auto* i = get(f, "health")) load_health(*i, r.health);
  }

  void load_breaker(const Item& item, BreakerConfig& b) {
    if (!expect_map(item, "a mapping of circuit breaker settings")) return;
    auto f = fields(item, kBreakerScope);
    if (auto* i = get(f, "consecutive_failures"))
      if (auto v = integer(*i, 1, 1'000'000)) b.consecutive_failures = static_cast<int>(*v);
    if (auto* i = get(f, "error_rate"))
      if (auto v = number(*i)) b.error_rate = *v;
    if (auto* i = get(f, "min_requests"))
      if (auto v = integer(*i, 1, 1'000'000)) b.min_requests = static_cast<int>(*v);
    if (auto* i = get(f, "window"))
      if (auto v = duration(*i)) b.window = *v;
    if (auto* i = get(f, "cooldown"))
      if (auto v = duration(*i)) b.cooldown = *v;
  }

  void load_health(const Item& item, HealthConfig& h) {
    if (!expect_map(item, "a mapping of health check settings")) return;
    auto f = fields(item, kHealthScope);
    if (auto* i = get(f, "interval"))
      if (auto v = duration(*i)) h.interval = *v;
    if (auto* i = get(f, "window"))
      if (auto v = duration(*i)) h.window = *v;
    if (auto* i = get(f, "path"))
      if (auto s = text(*i)) h.path = std::move(*s);
    if (auto* i = get(f, "degraded_latency"))
      if (auto v = duration(*i)) h.degraded_latency = *v;
    if (auto* i = get(f, "timeout"))
      if (auto v = duration(*i)) h.timeout = *v;
  }

  void load_alerts(const Item& item, AlertsConfig& a) {
    if (!expect_map(item, "a mapping with webhook")) return;
    auto f = fields(item, kAlertsScope);
    if (auto* i = get(f, "webhook"))
      if (auto s = text(*i)) a.webhook = std::move(*s);
  }

  void load_ledger(const Item& item, LedgerConfig& l) {
    if (!expect_map(item, "a mapping with enabled")) return;
    auto f = fields(item, kLedgerScope);
    if (auto* i = get(f, "enabled"))
      if (auto v = boolean(*i)) l.enabled = *v;
  }

  void load_logging(const Item& item, LoggingConfig& l) {  // values: logging.cpp
    if (!expect_map(item, "a mapping with access_log")) return;
    auto f = fields(item, kLoggingScope);
    auto* i = get(f, "access_log");
    auto value = i ? text(*i) : std::nullopt;
    if (!value) return;
    if (auto target = parse_access_log_target(*value)) l.access_log = *target;
    else fail(*i, target.error());
  }

  // default_params as compact JSON. Quoted YAML scalars (tag "!") stay strings.
  bool append_json(const Item& item, std::string& out) {
    const YAML::Node& node = item.node;
    if (node.IsNull()) {
      out += "null";
    } else if (node.IsSequence()) {
      out += '[';
      bool ok = true;
      for (size_t i = 0; i < node.size(); ++i) {
        if (i) out += ',';
        ok = append_json(element(item, i), out) && ok;
      }
      out += ']';
      return ok;
    } else if (node.IsMap()) {
      out += '{';
      bool ok = true;
      std::set<std::string> keys;
      for (auto it = node.begin(); it != node.end(); ++it) {
        Loc key_loc = loc_of(it->first, item.loc);
        if (!it->first.IsScalar()) {
          fail(key_loc, item.path, "keys must be plain names, not " + describe(it->first));
          ok = false;
          continue;
        }
        const std::string& key = it->first.Scalar();
        Item value{it->second, loc_of(it->second, key_loc), join(item.path, key),
                   join(item.canon, key)};
        if (!keys.insert(key).second) {
          fail(key_loc, value.path, "duplicate key " + quoted(key));
          ok = false;
          continue;
        }
        if (keys.size() > 1) out += ',';
        append_json_string(out, key);
        out += ':';
        ok = append_json(value, out) && ok;
      }
      out += '}';
      return ok;
    } else {
      auto s = text(item);
      if (!s) return false;
      if (node.Tag() == "!") append_json_string(out, *s);
      else out += json_scalar(*s);
    }
    return true;
  }

  std::string file_;
  ConfigErrors errors_;
  std::map<std::string, Known> known_;  // canonical key path -> how and where it was written
  std::vector<std::string> covered_;    // key paths that already have an error
};

}  // namespace

Expected<GatewayConfig, ConfigErrors> load_config_text(const std::string& text,
                                                       const std::string& file_name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    int column = e.mark.is_null() ? 0 : e.mark.column + 1;
    return unexpected(ConfigErrors{{file_name, line, column, "", "syntax error: " + e.msg}});
  }
  Loader loader(file_name);
  GatewayConfig config = loader.load(root);
  ConfigErrors errors = loader.finish(config);
  if (!errors.empty()) return unexpected(std::move(errors));
  return config;
}

Expected<GatewayConfig, ConfigErrors> load_config_file(const std::string& path) {
  auto failure = [&](int err) {
    std::string reason = std::strerror(err);
    return unexpected(ConfigErrors{{path, 0, 0, "", "cannot read config file: " + reason}});
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failure(errno);
  std::string text;
  char buf[16384];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) text.append(buf, static_cast<size_t>(n));
  int err = errno;
  ::close(fd);
  if (n < 0) return failure(err);
  return load_config_text(text, path);
}

}  // namespace llmux
