// provider add|update|remove|enable|disable|default|list|info
#include <algorithm>
#include <charconv>
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "config/config_internal.hpp"
#include "providers/provider.hpp"
#include "store/prompts.hpp"
#include "store/provider_store.hpp"
#include "store/vault.hpp"
#include "store/yaml_util.hpp"

namespace llmux::cli {

namespace bjson = boost::json;
using store::FailKind;
using store::Failure;

namespace {

int refuse(const Failure& f, const std::string& file) {
  if (f.kind == FailKind::invalid && !f.messages.empty() && f.messages.front().rfind(file, 0) == 0)
    print_error("refused: " + file + " would be invalid after this change (nothing was written):");
  return report(f);
}

void print_warnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) print_warning(w);
}

// Where a provider is written in the config file, if it is.
std::optional<std::pair<std::string, int>> in_config_file(const store::Paths& paths, const std::string& config_file,
                                                          const std::string& name) {
  std::string file = config_file.empty() ? paths.default_config_file() : config_file;
  if (file.empty()) return std::nullopt;
  auto text = store::read_file(file);
  if (!text || !*text) return std::nullopt;
  try {
    for (const auto& p : store::raw_providers(YAML::Load(**text)))
      if (p.id == name) return std::pair{file, p.line};
  } catch (const YAML::Exception&) {
  }
  return std::nullopt;
}

struct StoreSession {
  store::Paths paths = store::Paths::from_environment();
  std::unique_ptr<store::DirLock> lock;
  store::ProviderStore store{paths.providers()};

  store::Result<void> open(bool for_write) {
    if (for_write) {
      if (auto dir = store::ensure_dir(paths.config_dir, 0700); !dir) return dir;
      lock = std::make_unique<store::DirLock>(paths.config_dir);
    }
    return store.load();
  }
};

std::string redact_header(const std::string& name, const std::string& value, const Secret& key) {
  if (value.find("${") != std::string::npos || value.find("{api_key}") != std::string::npos) {
    if (key.empty() || value.find(key.reveal()) == std::string::npos) return value;  // a reference, not a secret
  }
  bool contains_key = !key.empty() && value.find(key.reveal()) != std::string::npos;
  if (!contains_key && !config_detail::is_sensitive_header(name)) return value;
  for (const char* scheme : {"Bearer ", "Basic ", "Token "})
    if (value.rfind(scheme, 0) == 0) return scheme + Secret(value.substr(std::string(scheme).size())).redacted();
  return Secret(value).redacted();
}

// One provider as JSON: what `provider info --json` prints and what list/info render as text.
bjson::object describe(const ProviderConfig& c, const store::ProviderOrigin& origin, const YAML::Node* raw,
                       bool is_default) {
  bjson::object o;
  o["name"] = c.id;
  if (!c.name.empty() && c.name != c.id) o["display_name"] = c.name;
  o["source"] = origin.kind;
  if (!origin.file.empty()) o["file"] = origin.file;
  if (origin.line > 0) o["line"] = origin.line;
  o["type"] = c.type;
  o["base_url"] = c.base_url;
  if (raw) {
    std::string written = store::scalar(store::get_key(*raw, "base_url"));
    if (!written.empty() && written != c.base_url) o["base_url_written"] = written;
  }
  o["enabled"] = c.enabled;
  o["priority"] = c.priority;
  o["default"] = is_default;
  // As written; without a key the loader sends nothing, but the intended style is still bearer.
  std::string style = !origin.auth_type.empty() ? config_detail::to_lower(origin.auth_type)
                      : c.api_key.empty()        ? "bearer"
                                                 : std::string(config_detail::auth_style_name(c.auth));
  if (style == "header") style = "api-key";
  o["auth_type"] = style;
  if (c.auth == AuthStyle::header) o["auth_header"] = c.auth_header;
  bjson::object key;
  key["source"] = origin.key_source.empty() ? "none" : origin.key_source;
  if (!c.api_key.empty()) key["redacted"] = c.api_key.redacted();
  o["api_key"] = std::move(key);
  o["timeout_ms"] = c.timeout.count();
  o["max_retries"] = c.max_retries;
  o["default_model"] = c.default_model;
  bjson::array models;
  for (const auto& m : c.models) {
    bjson::object mo;
    mo["id"] = m.id;
    if (m.upstream_id != m.id) mo["upstream_id"] = m.upstream_id;
    if (!m.aliases.empty()) {
      bjson::array aliases;
      for (const auto& a : m.aliases) aliases.push_back(bjson::value(a));
      mo["aliases"] = std::move(aliases);
    }
    if (m.context_window) mo["context_window"] = *m.context_window;
    if (m.prices.any()) {
      // Always the explicit unit: USD per 1M tokens, whatever spelling the file uses.
      auto usd = [](int64_t micro) { return static_cast<double>(micro) / 1e6; };
      bjson::object pricing{{"input_per_mtok", usd(m.prices.input)}, {"output_per_mtok", usd(m.prices.output)}};
      if (m.prices.cached_input) pricing["cached_input_per_mtok"] = usd(*m.prices.cached_input);
      if (m.prices.cache_write) pricing["cache_write_per_mtok"] = usd(*m.prices.cache_write);
      if (m.prices.reasoning) pricing["reasoning_per_mtok"] = usd(*m.prices.reasoning);
      mo["pricing"] = std::move(pricing);
    }
    models.push_back(std::move(mo));
  }
  o["models"] = std::move(models);
  bjson::object headers;
  // Header values as written (a ${VAR} stays a reference); literal secrets are redacted.
  YAML::Node raw_headers = raw ? store::get_key(*raw, "headers") : YAML::Node();
  for (const auto& h : c.headers) {
    std::string value = h.value;
    if (raw_headers.IsMap())
      for (auto it = raw_headers.begin(); it != raw_headers.end(); ++it)
        if (it->first.IsScalar() && it->first.Scalar() == h.name && it->second.IsScalar()) value = it->second.Scalar();
    headers[h.name] = redact_header(h.name, value, c.api_key);
  }
  o["headers"] = std::move(headers);
  if (!c.default_params_json.empty()) {
    boost::system::error_code ec;
    auto params = bjson::parse(c.default_params_json, ec);
    if (!ec) o["default_params"] = params;
  }
  return o;
}

std::string str(const bjson::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (!v) return {};
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_bool()) return v->as_bool() ? "yes" : "no";
  return bjson::serialize(*v);
}

// 0.6, not 6E-1.
std::string number(const bjson::value& v) {
  double d = v.is_double() ? v.as_double() : static_cast<double>(v.to_number<int64_t>());
  char buf[32];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, d).ptr);
}

std::string auth_cell(const bjson::object& o) {
  std::string style = str(o, "auth_type");
  if (style == "none") return "none";
  std::string source = str(o.at("api_key").as_object(), "source");
  if (style == "api-key" && o.contains("auth_header")) style += " " + str(o, "auth_header");
  if (source == "none") return style + " (no key)";
  return style + " " + source;
}

}  // namespace

int provider_add(ProviderArgs args) {
  if (auto ok = store::check_provider_name(args.name); !ok) return report(ok.error());
  args.edit.base_url = args.url;
  if (args.disabled) args.edit.enabled = false;
  if (auto ok = store::check_edit(args.edit, true); !ok) return report(ok.error());
  StoreSession s;
  if (auto ok = s.open(true); !ok) return report(ok.error());
  if (auto existing = s.store.find(args.name))
    return report(Failure::of(FailKind::conflict, "provider '" + args.name + "' already exists in " + s.store.path() + ":" +
                                                      std::to_string(existing->line) + "; change it with `llmux provider update " +
                                                      args.name + " …`"));
  if (auto where = in_config_file(s.paths, args.config_file, args.name))
    return report(Failure::of(FailKind::conflict, "provider '" + args.name + "' is already defined in " + where->first + ":" +
                                                      std::to_string(where->second) + "; pick another name"));
  YAML::Node node(YAML::NodeType::Map);
  store::apply_edit(node, args.edit);
  auto written = s.store.put(args.name, node);
  if (!written) return refuse(written.error(), s.store.path());
  std::printf("added provider '%s' (%s) to %s\n", args.name.c_str(), args.url.c_str(), s.store.path().c_str());
  print_warnings(*written);
  bool no_auth = args.edit.auth_type && config_detail::iequals(*args.edit.auth_type, "none");
  if (!args.edit.api_key_env && !no_auth) {
    store::Vault vault(s.paths);
    if (vault.load() && vault.contains(args.name))
      std::printf("using the API key stored for '%s' in the vault\n", args.name.c_str());
    else
      print_note("if '" + args.name + "' needs an API key: `llmux api-key " + args.name +
                 "` stores it encrypted (or re-run with --api-key-env VAR)");
  }
  return kOk;
}

int provider_update(ProviderArgs args) {
  if (auto ok = store::check_provider_name(args.name); !ok) return report(ok.error());
  if (!args.url.empty()) args.edit.base_url = args.url;
  if (args.enable && args.disable) return report(Failure::of(FailKind::invalid, "--enable and --disable contradict each other"));
  if (args.enable) args.edit.enabled = true;
  if (args.disable) args.edit.enabled = false;
  if (args.edit.empty())
    return report(Failure::of(FailKind::invalid, "nothing to change: pass at least one option (see llmux provider update --help)"));
  if (auto ok = store::check_edit(args.edit, false); !ok) return report(ok.error());
  StoreSession s;
  if (auto ok = s.open(true); !ok) return report(ok.error());
  auto existing = s.store.find(args.name);
  if (!existing) {
    if (auto where = in_config_file(s.paths, args.config_file, args.name))
      return report(Failure::of(FailKind::not_found, "provider '" + args.name + "' is defined in " + where->first + ":" +
                                                         std::to_string(where->second) +
                                                         ", not in the provider store: edit that file"));
    return report(store::unknown_provider(args.name, s.store.ids()));
  }
  YAML::Node node = YAML::Clone(existing->node);
  store::apply_edit(node, args.edit);
  auto written = s.store.put(args.name, node);
  if (!written) return refuse(written.error(), s.store.path());
  std::printf("updated provider '%s' in %s\n", args.name.c_str(), s.store.path().c_str());
  for (const auto& change : store::model_changes(existing->node, node)) std::printf("  %s\n", change.c_str());
  print_warnings(*written);
  return kOk;
}

int provider_remove(const ProviderArgs& args) {
  StoreSession s;
  if (auto ok = s.open(true); !ok) return report(ok.error());
  auto removed = s.store.remove(args.name);
  if (!removed) return refuse(removed.error(), s.store.path());
  std::printf("removed provider '%s' from %s\n", args.name.c_str(), s.store.path().c_str());
  store::Vault vault(s.paths);
  if (vault.load() && vault.contains(args.name))
    print_note("its API key stays in the vault (remove it with `llmux config unset api_keys." + args.name + "`)");
  auto settings = store::Settings::load(s.paths.settings());
  if (settings && settings->default_provider == args.name) {
    settings->default_provider.clear();
    (void)settings->save(s.paths.settings());
    print_note("it was the default provider; set another with `llmux provider default NAME`");
  }
  return kOk;
}

int provider_set_enabled(const ProviderArgs& args, bool enabled) {
  StoreSession s;
  if (auto ok = s.open(true); !ok) return report(ok.error());
  auto existing = s.store.find(args.name);
  if (!existing) return report(store::unknown_provider(args.name, s.store.ids()));
  store::ProviderEdit edit;
  edit.enabled = enabled;
  YAML::Node node = YAML::Clone(existing->node);
  store::apply_edit(node, edit);
  auto written = s.store.put(args.name, node);
  if (!written) return refuse(written.error(), s.store.path());
  std::printf("%s provider '%s'\n", enabled ? "enabled" : "disabled", args.name.c_str());
  return kOk;
}

int provider_default(const ProviderArgs& args) {
  auto session = open_session(args.config_file);
  if (!session) return report(session.error());
  if (!session->sources.find(args.name))
    return report(store::unknown_provider(args.name, session->sources.ids(), false));
  store::Settings settings;
  if (auto loaded = store::Settings::load(session->paths.settings())) settings = *loaded;
  settings.default_provider = args.name;
  if (auto dir = store::ensure_dir(session->paths.config_dir, 0700); !dir) return report(dir.error());
  store::DirLock lock(session->paths.config_dir);
  if (auto saved = settings.save(session->paths.settings()); !saved) return report(saved.error());
  std::printf("default provider: %s (used by chat, run and models without --provider)\n", args.name.c_str());
  return kOk;
}

namespace {

struct Described {
  std::vector<bjson::object> providers;
  std::string store_file;
};

// Store providers (and with `all`, every provider): typed from a lenient load, as written where
// the raw text matters (header values, URL).
store::Result<Described> describe_providers(const std::string& config_file, bool all) {
  Described out;
  auto paths = store::Paths::from_environment();
  out.store_file = paths.providers();
  auto settings = store::Settings::load(paths.settings());
  std::string default_provider = settings ? settings->default_provider : "";
  store::ProviderStore st(paths.providers());
  if (auto ok = st.load(); !ok) return unexpected(ok.error());
  // The store alone when that is all that is listed, so a broken config.yaml does not hide it.
  store::SourceOptions options;
  options.config_file = config_file;
  options.strict_env = false;
  options.store_only = !all;
  auto sources = store::assemble(paths, options);
  if (!sources) return unexpected(sources.error());
  for (const auto& p : sources->config.providers) {
    auto origin = sources->origins[p.id];
    if (!all && origin.kind != "store") continue;
    auto raw = origin.kind == "store" ? st.find(p.id) : std::nullopt;
    out.providers.push_back(describe(p, origin, raw ? &raw->node : nullptr, p.id == default_provider));
  }
  return out;
}

}  // namespace

int provider_list(const ProviderArgs& args) {
  auto described = describe_providers(args.config_file, args.all);
  if (!described) return report(described.error());
  if (args.json) {
    bjson::array list;
    for (auto& p : described->providers) list.push_back(p);
    print_json(list);
    return kOk;
  }
  if (described->providers.empty()) {
    std::printf("no custom providers yet (%s); add one:\n  llmux provider add NAME URL [--model M]\n",
                described->store_file.c_str());
    return kOk;
  }
  std::vector<std::string> header = {"NAME", "TYPE", "BASE URL", "DEFAULT MODEL", "AUTH", "ENABLED", "PRIORITY"};
  if (args.all) header.push_back("SOURCE");
  Table table(header);
  bool any_default = false;
  for (const auto& p : described->providers) {
    bool is_default = p.at("default").as_bool();
    any_default |= is_default;
    std::vector<std::string> row = {str(p, "name") + (is_default ? " *" : ""),
                                    str(p, "type"),
                                    p.contains("base_url_written") ? str(p, "base_url_written") : str(p, "base_url"),
                                    str(p, "default_model").empty() ? "-" : str(p, "default_model"),
                                    auth_cell(p),
                                    str(p, "enabled"),
                                    str(p, "priority")};
    if (args.all) row.push_back(str(p, "source"));
    table.add(row);
  }
  table.print(stdout, [&](size_t row, size_t column) -> const char* {
    if (column == 5) return described->providers[row].at("enabled").as_bool() ? "32" : "33";
    return nullptr;
  });
  if (any_default) std::printf("* default provider\n");
  return kOk;
}

int provider_info(const ProviderArgs& args) {
  auto described = describe_providers(args.config_file, true);
  if (!described) {
    // A broken config file or environment should not hide the store's own providers.
    auto store_only = describe_providers(args.config_file, false);
    if (!store_only) return report(described.error());
    for (const auto& m : described.error().messages) print_warning(m);
    described = std::move(store_only);
  }
  const bjson::object* found = nullptr;
  std::vector<std::string> known;
  for (const auto& p : described->providers) {
    known.push_back(str(p, "name"));
    if (str(p, "name") == args.name) found = &p;
  }
  if (!found) return report(store::unknown_provider(args.name, known, true));
  const auto& p = *found;
  if (args.json) {
    print_json(p);
    return kOk;
  }
  bool on = stdout_color();
  auto line = [&](const char* label, const std::string& value) {
    std::string padded = *label ? std::string(label) + ":" : std::string();
    padded.resize(16, ' ');
    std::printf("%s%s\n", paint(padded, "1", on).c_str(), value.c_str());
  };
  line("name", str(p, "name") + (p.at("default").as_bool() ? " (default provider)" : ""));
  if (p.contains("display_name")) line("display name", str(p, "display_name"));
  std::string source = str(p, "source");
  if (p.contains("file")) source += ", " + str(p, "file") + (p.contains("line") ? ":" + str(p, "line") : "");
  line("source", source);
  line("type", str(p, "type"));
  line("base URL", str(p, "base_url") +
                       (p.contains("base_url_written") ? "  (written as " + str(p, "base_url_written") + ")" : ""));
  line("enabled", str(p, "enabled"));
  line("priority", str(p, "priority"));
  line("auth", str(p, "auth_type") + (p.contains("auth_header") ? " (header " + str(p, "auth_header") + ")" : ""));
  const auto& key = p.at("api_key").as_object();
  std::string key_text = str(key, "source");
  if (key.contains("redacted")) key_text += " (" + str(key, "redacted") + ")";
  line("API key", key_text);
  line("timeout", providers::format_duration(std::chrono::milliseconds(p.at("timeout_ms").to_number<int64_t>())));
  line("max retries", str(p, "max_retries"));
  line("default model", str(p, "default_model").empty() ? "-" : str(p, "default_model"));
  const auto& models = p.at("models").as_array();
  if (models.empty()) line("models", "any (names are passed through)");
  for (size_t i = 0; i < models.size(); ++i) {
    const auto& m = models[i].as_object();
    std::string text = str(m, "id");
    std::vector<std::string> extras;
    if (m.contains("upstream_id")) extras.push_back("upstream " + str(m, "upstream_id"));
    if (m.contains("context_window")) extras.push_back("context " + str(m, "context_window"));
    if (m.contains("pricing")) {
      const auto& pr = m.at("pricing").as_object();
      extras.push_back("$" + number(pr.at("input_per_mtok")) + " in / $" + number(pr.at("output_per_mtok")) +
                       " out per 1M tokens");
    }
    for (size_t j = 0; j < extras.size(); ++j) text += (j ? ", " : " (") + extras[j] + (j + 1 == extras.size() ? ")" : "");
    line(i ? "" : "models", text);
  }
  const auto& headers = p.at("headers").as_object();
  if (headers.empty()) line("headers", "-");
  bool first = true;
  for (const auto& [name, value] : headers) {
    line(first ? "headers" : "", std::string(name) + ": " + std::string(value.as_string()));
    first = false;
  }
  if (p.contains("default_params")) line("default params", bjson::serialize(p.at("default_params")));
  return kOk;
}

}  // namespace llmux::cli
