#include "cli/session.hpp"

#include <algorithm>
#include <cstdlib>

#include "cli/output.hpp"
#include "http/upstream_guard.hpp"
#include "providers/provider.hpp"
#include "store/prompts.hpp"
#include "store/provider_store.hpp"

namespace llmux::cli {

store::Result<Session> open_session(const std::string& config_file) {
  Session s;
  s.paths = store::Paths::from_environment();
  store::SourceOptions options;
  options.config_file = config_file;
  options.strict_env = false;
  options.discover = true;
  auto sources = store::assemble(s.paths, options);
  if (!sources) return unexpected(sources.error());
  s.sources = std::move(*sources);
  http::set_upstream_guard(s.sources.config.upstream_guard);
  auto settings = store::Settings::load(s.paths.settings());
  if (settings) s.default_provider = settings->default_provider;
  return s;
}

std::string provider_name(const std::string& spec) {
  return spec.rfind("custom:", 0) == 0 ? spec.substr(7) : spec;
}

store::Result<Picked> pick_provider(const Session& session, const std::string& spec) {
  const auto& sources = session.sources;
  auto picked = [&](const ProviderConfig& c) {
    Picked p;
    p.config = c;
    if (auto it = sources.origins.find(c.id); it != sources.origins.end()) p.origin = it->second;
    return p;
  };
  if (spec.empty()) {
    if (!session.default_provider.empty()) {
      if (const auto* c = sources.find(session.default_provider)) return picked(*c);
      return unexpected(store::Failure::of(
          store::FailKind::not_found, "the default provider '" + session.default_provider +
                                          "' (settings.yaml) no longer exists; pick another: llmux provider default NAME"));
    }
    if (sources.config.providers.size() == 1) return picked(sources.config.providers.front());
    if (sources.config.providers.empty())
      return unexpected(store::Failure::of(store::FailKind::not_found,
                                           "no providers yet: add one with `llmux provider add NAME URL`"));
    std::string known;
    for (const auto& id : sources.ids()) known += (known.empty() ? "" : ", ") + id;
    return unexpected(store::Failure::of(store::FailKind::invalid,
                                         "several providers (" + known +
                                             "): pick one with --provider NAME, or set a default: llmux provider default NAME"));
  }
  bool custom = spec.rfind("custom:", 0) == 0;
  std::string name = provider_name(spec);
  std::vector<std::string> known;
  for (const auto& p : sources.config.providers) {
    auto it = sources.origins.find(p.id);
    bool in_store = it != sources.origins.end() && it->second.kind == "store";
    if (custom && !in_store) continue;
    known.push_back(p.id);
    if (p.id == name) return picked(p);
  }
  return unexpected(store::unknown_provider(name, known, custom));
}

store::Result<Picked> gateway_provider(const GatewayTarget& target, const std::string& provider_spec,
                                       const std::string& model) {
  Picked p;
  p.gateway = true;
  p.config.id = p.config.name = "gateway";
  auto url = normalize_base_url(target.url);
  if (!url) return unexpected(store::Failure::of(store::FailKind::invalid, "invalid --gateway URL \"" + target.url + "\": " + url.error()));
  p.config.base_url = *url;
  std::string key = target.key;
  if (key.empty())
    if (const char* env = std::getenv("LLMUX_GATEWAY_KEY")) key = env;
  if (!key.empty()) p.config.api_key = Secret(key);
  p.config.auth = key.empty() ? AuthStyle::none : AuthStyle::bearer;
  p.config.timeout = std::chrono::minutes(10);
  p.config.max_retries = 0;
  p.origin.kind = "gateway";
  p.origin.key_source = key.empty() ? "none" : "gateway key";
  std::string name = provider_name(provider_spec);
  if (!name.empty()) p.gateway_model = model.empty() ? name : name + "/" + model;
  else p.gateway_model = model;
  return p;
}

store::Result<void> register_provider(Client& client, const Picked& picked) {
  ProviderConfig config = picked.config;
  config.enabled = true;
  if (auto added = client.add_provider(config); !added)
    return unexpected(store::Failure::of(store::FailKind::invalid, added.error().message));
  (void)client.set_default_provider(config.id);
  return {};
}

void warn_about(const Picked& picked) {
  for (const auto& var : picked.origin.unset_vars)
    print_warning("provider '" + picked.config.id + "' uses ${" + var + "}, which is not set");
  if (!picked.config.enabled && !picked.gateway)
    print_note("provider '" + picked.config.id + "' is disabled for the gateway (llmux provider enable " +
               picked.config.id + "); used here anyway");
}

std::string provider_error_hint(const Error& e, const Picked& p) {
  const std::string& id = p.config.id;
  int status = e.upstream_status ? e.upstream_status : e.http_status;
  if (e.kind == ErrorKind::authentication || status == 401 || status == 403) {
    if (p.gateway) return "the gateway wants its key: pass --gateway-key KEY or set LLMUX_GATEWAY_KEY";
    const std::string& source = p.origin.key_source;
    std::string store_it = "llmux api-key " + id;
    if (source == "none" || source.empty())
      return "no API key is set for '" + id + "': store one with `" + store_it +
             "` (encrypted), or use a variable: `llmux provider update " + id + " --api-key-env VAR`";
    if (source == "vault") return "the key stored in the vault was rejected: replace it with `" + store_it + "`";
    if (source.find("(not set)") != std::string::npos) {
      std::string var = source.substr(2, source.find('}') - 2);
      return var + " is not set: export " + var + "=YOUR_KEY, or store the key with `" + store_it + "`";
    }
    if (source.rfind("${", 0) == 0 || source.rfind("$", 0) == 0)
      return "the key from " + source + " was rejected: check it, or store another with `" + store_it + "`";
    return "the api_key written in " + p.origin.file + " was rejected: store the right one with `" + store_it + "`";
  }
  if (e.code == "model_required")
    return "pass --model M (`llmux models " + id + "` lists them) or set a default: `llmux provider update " + id +
           " --default-model M`";
  if (e.kind == ErrorKind::upstream_timeout)
    return "the limit is the provider's timeout (" + providers::format_duration(p.config.timeout) +
           "): raise it with `llmux provider update " + id + " --timeout 2m`";
  if (e.kind == ErrorKind::upstream_unreachable)
    return p.gateway ? "is `llmux serve` running at " + p.config.base_url + "?"
                     : "is the server running at " + p.config.base_url + "? `llmux provider test " + id +
                           "` checks it step by step";
  return {};
}

int report_provider_error(const Error& e, const Picked& p, Client* client) {
  std::string message = e.message;
  int status = e.upstream_status ? e.upstream_status : e.http_status;
  bool model_problem = e.code == "model_not_found" || (status == 404 && e.param == "model");
  if (model_problem && client && e.upstream_status == 404) {
    // The provider itself said no: show what it does serve.
    auto models = client->list_models(p.config.id);
    if (models && !models->empty()) {
      std::string listed;
      for (const auto& m : *models) listed += (listed.empty() ? "" : ", ") + m.id;
      message += " (provider '" + p.config.id + "' models: " + listed + ")";
    }
  }
  print_error(message);
  if (auto hint = provider_error_hint(e, p); !hint.empty()) print_note(hint);
  if (e.code == "model_required") return kUsage;
  if (e.kind == ErrorKind::not_found || status == 404) return kNotFound;
  return kFailed;
}

}  // namespace llmux::cli
