#include "store/sources.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "config/config_internal.hpp"
#include "discovery/defaults.hpp"
#include "store/provider_store.hpp"
#include "store/vault.hpp"
#include "store/yaml_util.hpp"

namespace llmux::store {

namespace {

Failure config_failure(const ConfigErrors& errors) {
  Failure f{FailKind::broken, {}};
  for (const auto& e : errors) f.messages.push_back(format_config_error(e));
  return f;
}

std::string key_source_of(const YAML::Node& raw) {
  std::string key = scalar(get_key(raw, "api_key"));
  if (key.empty()) return "none";
  if (key.find("${") == std::string::npos) return "file";
  bool missing = false;
  scan_refs(key, [&](std::string_view name, bool has_default) {
    if (!has_default && std::getenv(std::string(name).c_str()) == nullptr) missing = true;
  });
  return key + (missing ? " (not set)" : "");
}

// The auth style as written, for a key that comes from the vault (the loader turns a provider
// without a key into auth none).
std::optional<AuthStyle> written_auth(const YAML::Node& raw, std::string& header) {
  std::string type = scalar(get_key(raw, "auth_type"));
  std::string written_header = scalar(get_key(raw, "auth_header"));
  if (!type.empty()) {
    auto style = config_detail::parse_auth_style(type);
    if (!style) return std::nullopt;
    if (*style == AuthStyle::header) header = written_header.empty() ? "api-key" : written_header;
    return *style;
  }
  if (!written_header.empty() && !config_detail::iequals(written_header, "Authorization")) {
    header = written_header;
    return AuthStyle::header;
  }
  return AuthStyle::bearer;
}

}  // namespace

std::string Assembled::describe() const {
  std::string out = config_file.empty() ? "embedded defaults" : config_file;
  if (store_exists) out += " + " + store_file;
  return out;
}

std::vector<std::string> Assembled::ids() const {
  std::vector<std::string> out;
  for (const auto& p : config.providers) out.push_back(p.id);
  return out;
}

const ProviderConfig* Assembled::find(std::string_view id) const {
  for (const auto& p : config.providers)
    if (p.id == id) return &p;
  return nullptr;
}

Result<Assembled> assemble(const Paths& paths, const SourceOptions& options) {
  Assembled out;
  if (!options.store_only)
    out.config_file = options.config_file.empty() ? paths.default_config_file() : options.config_file;
  out.store_file = paths.providers();
  std::map<std::string, YAML::Node> raw;  // provider id -> mapping as written

  if (!options.config_file.empty()) {
    out.watch.push_back(options.config_file);
  } else {
    for (const char* name : {"config.yaml", "config.yml", "config.json"}) out.watch.push_back(paths.config_dir + "/" + name);
  }
  out.watch.push_back(paths.providers());
  out.watch.push_back(paths.vault());

  if (!out.config_file.empty()) {
    auto text = read_file(out.config_file);
    if (!text) return unexpected(text.error());
    if (!*text)
      return unexpected(Failure::of(FailKind::broken, out.config_file + ": cannot read config file: No such file or directory"));
    auto config = load_config_text(options.strict_env ? **text : soften_unset_refs(**text), out.config_file);
    if (!config) return unexpected(config_failure(config.error()));
    out.config = std::move(*config);
    try {
      for (auto& p : raw_providers(YAML::Load(**text))) raw[p.id] = p.node;
    } catch (const YAML::Exception&) {
    }
    for (const auto& p : out.config.providers) {
      ProviderOrigin o{"config", out.config_file, p.source.line, "none", {}, {}};
      if (auto it = raw.find(p.id); it != raw.end()) {
        o.unset_vars = unset_refs(it->second);
        o.key_source = key_source_of(it->second);
        o.auth_type = scalar(get_key(it->second, "auth_type"));
      }
      out.origins[p.id] = std::move(o);
    }
  } else if (!options.store_only) {
    if (options.discover) {
      for (auto& p : discovery::providers_from_environment()) {
        std::string var = p.source.file;  // "$OPENAI_API_KEY"
        out.origins[p.id] = {"environment", "", 0, var, {}, {}};
        out.config.providers.push_back(std::move(p));
      }
    }
    if (options.probe_local) {
      for (auto& p : discovery::probe_local_servers(std::chrono::milliseconds(300))) {
        if (out.find(p.id)) continue;
        out.origins[p.id] = {"probe", "", 0, "none", {}, "none"};
        out.config.providers.push_back(std::move(p));
      }
    }
  }

  ProviderStore store(paths.providers());
  if (auto loaded = store.load(); !loaded) return unexpected(loaded.error());
  out.store_exists = store.exists();
  auto stored = store.configs(options.strict_env);
  if (!stored) return unexpected(config_failure(stored.error()));
  std::map<std::string, YAML::Node> store_raw;
  for (auto& p : store.providers()) store_raw[p.id] = p.node;
  Failure duplicates{FailKind::broken, {}};
  for (auto& p : stored->providers) {
    auto existing = std::find_if(out.config.providers.begin(), out.config.providers.end(),
                                 [&](const auto& c) { return c.id == p.id; });
    if (existing != out.config.providers.end()) {
      const ProviderOrigin& first = out.origins[p.id];
      if (first.kind == "config") {
        ConfigError e{p.source.file, p.source.line, 0, p.source.key_path,
                      "provider '" + p.id + "' is also defined in " + first.file +
                          (first.line > 0 ? ":" + std::to_string(first.line) : "") +
                          "; keep one of them (llmux provider remove " + p.id + ")"};
        duplicates.messages.push_back(format_config_error(e));
        continue;
      }
      out.config.providers.erase(existing);  // the store overrides discovered providers
    }
    ProviderOrigin o{"store", p.source.file, p.source.line, "none", {}, {}};
    if (auto it = store_raw.find(p.id); it != store_raw.end()) {
      o.unset_vars = unset_refs(it->second);
      o.key_source = key_source_of(it->second);
      o.auth_type = scalar(get_key(it->second, "auth_type"));
      raw[p.id] = it->second;
    }
    out.origins[p.id] = std::move(o);
    out.config.providers.push_back(std::move(p));
    ++out.store_providers;
  }
  if (!duplicates.messages.empty()) return unexpected(std::move(duplicates));

  // Keys from the vault, for providers that have none and do not say auth_type: none.
  Vault vault(paths);
  if (auto loaded = vault.load(); !loaded) return unexpected(loaded.error());
  if (vault.exists()) {
    for (auto& p : out.config.providers) {
      if (!p.api_key.empty() || !vault.contains(p.id)) continue;
      auto it = raw.find(p.id);
      YAML::Node written = it != raw.end() ? it->second : YAML::Node();
      std::string header;
      auto style = written_auth(written, header);
      if (!style || *style == AuthStyle::none) continue;
      auto key = vault.get(p.id);
      if (!key) return unexpected(key.error());
      p.api_key = std::move(*key);
      p.auth = *style;
      if (*style == AuthStyle::header) p.auth_header = header;
      out.origins[p.id].key_source = "vault";
    }
    if (out.config_file.empty() && options.discover && !options.store_only) {
      for (const auto& s : discovery::known_services()) {
        if (out.find(s.id) || !vault.contains(s.id)) continue;
        auto key = vault.get(s.id);
        if (!key) return unexpected(key.error());
        ProviderConfig p = discovery::service_provider(s, std::move(*key));
        p.source.file = "vault";
        out.origins[p.id] = {"vault", "", 0, "vault", {}, {}};
        out.config.providers.push_back(std::move(p));
      }
    }
  }
  return out;
}

}  // namespace llmux::store
