// api-key NAME; config set|get|unset|list|path
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "discovery/defaults.hpp"
#include "store/prompts.hpp"
#include "store/provider_store.hpp"
#include "store/vault.hpp"
#include "store/yaml_util.hpp"

namespace llmux::cli {

namespace bjson = boost::json;
using store::FailKind;
using store::Failure;

namespace {

bool provider_known(const store::Paths& paths, const std::string& name) {
  store::ProviderStore st(paths.providers());
  if (st.load() && st.find(name)) return true;
  for (const auto& s : discovery::known_services())
    if (name == s.id) return true;
  std::string file = paths.default_config_file();
  if (file.empty()) return false;
  auto text = store::read_file(file);
  if (!text || !*text) return false;
  try {
    for (const auto& p : store::raw_providers(YAML::Load(**text)))
      if (p.id == name) return true;
  } catch (const YAML::Exception&) {
  }
  return false;
}

int store_key(const std::string& name, const std::string& value) {
  auto paths = store::Paths::from_environment();
  if (auto dir = store::ensure_dir(paths.state_dir, 0700); !dir) return report(dir.error());
  store::DirLock lock(paths.state_dir);
  const char* env = std::getenv("LLMUX_MASTER_KEY");
  bool new_key_file = !(env && *env) && !std::filesystem::exists(paths.master_key());
  store::Vault vault(paths);
  if (auto ok = vault.load(); !ok) return report(ok.error());
  if (auto ok = vault.put(name, Secret(value)); !ok) return report(ok.error());
  std::printf("stored the API key for '%s' (%s) in %s, encrypted with the master key from %s\n", name.c_str(),
              Secret(value).redacted().c_str(), vault.path().c_str(), vault.key_source().c_str());
  if (new_key_file)
    print_note("created the master key file " + paths.master_key() +
               " (mode 0600); keep it: without it (or LLMUX_MASTER_KEY) the vault cannot be opened");
  if (!provider_known(paths, name))
    print_note("no provider '" + name + "' yet: `llmux provider add " + name + " URL` will use this key");
  return kOk;
}

int remove_key(const std::string& name) {
  auto paths = store::Paths::from_environment();
  store::Vault vault(paths);
  if (auto ok = vault.load(); !ok) return report(ok.error());
  if (!vault.contains(name)) {
    std::string known;
    for (const auto& n : vault.names()) known += (known.empty() ? "" : ", ") + n;
    return report(Failure::of(FailKind::not_found, "no API key named '" + name + "' in the vault" +
                                                       (known.empty() ? "" : "; stored: " + known)));
  }
  if (auto dir = store::ensure_dir(paths.state_dir, 0700); !dir) return report(dir.error());
  store::DirLock lock(paths.state_dir);
  if (auto ok = vault.load(); !ok) return report(ok.error());
  auto removed = vault.remove(name);
  if (!removed) return report(removed.error());
  std::printf("removed the API key for '%s' from the vault\n", name.c_str());
  return kOk;
}

std::optional<std::string> key_name(const std::string& key) {
  if (key.rfind("api_keys.", 0) != 0) return std::nullopt;
  return key.substr(9);
}

Failure unknown_setting(const std::string& key) {
  return Failure::of(FailKind::invalid,
                     "unknown setting '" + key + "'; settings are api_keys.NAME and default_provider");
}

}  // namespace

int api_key(const KeyArgs& args) {
  if (!store::Vault::valid_name(args.name))
    return report(Failure::of(FailKind::invalid, "invalid key name '" + args.name + "': use the provider's name"));
  if (args.remove) return remove_key(args.name);
  auto secret = read_secret("API key for " + args.name + " (input hidden): ");
  if (!secret) return report(secret.error());
  return store_key(args.name, *secret);
}

int config_set(const std::string& key, const std::string& value) {
  if (auto name = key_name(key)) {
    if (!store::Vault::valid_name(*name))
      return report(Failure::of(FailKind::invalid, "invalid key name '" + *name + "': use the provider's name"));
    if (value == "-") {
      auto secret = read_secret("API key for " + *name + " (input hidden): ");
      if (!secret) return report(secret.error());
      return store_key(*name, *secret);
    }
    if (value.empty()) return report(Failure::of(FailKind::invalid, "the key is empty"));
    for (char c : value)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        return report(Failure::of(FailKind::invalid, "the key contains a control character"));
    return store_key(*name, value);
  }
  if (key == "default_provider") {
    ProviderArgs args;
    args.name = value;
    return provider_default(args);
  }
  return report(unknown_setting(key));
}

int config_get(const std::string& key) {
  auto paths = store::Paths::from_environment();
  if (auto name = key_name(key)) {
    store::Vault vault(paths);
    if (auto ok = vault.load(); !ok) return report(ok.error());
    auto secret = vault.get(*name);
    if (!secret) return report(secret.error());
    std::printf("%s (stored; keys are never printed in full)\n", secret->redacted().c_str());
    return kOk;
  }
  if (key == "default_provider") {
    auto settings = store::Settings::load(paths.settings());
    if (!settings) return report(settings.error());
    if (settings->default_provider.empty()) return report(Failure::of(FailKind::not_found, "no default provider is set"));
    std::printf("%s\n", settings->default_provider.c_str());
    return kOk;
  }
  return report(unknown_setting(key));
}

int config_unset(const std::string& key) {
  auto paths = store::Paths::from_environment();
  if (auto name = key_name(key)) return remove_key(*name);
  if (key == "default_provider") {
    auto settings = store::Settings::load(paths.settings());
    if (!settings) return report(settings.error());
    settings->default_provider.clear();
    if (auto saved = settings->save(paths.settings()); !saved) return report(saved.error());
    std::printf("default provider cleared\n");
    return kOk;
  }
  return report(unknown_setting(key));
}

int config_list(bool json) {
  auto paths = store::Paths::from_environment();
  auto settings = store::Settings::load(paths.settings());
  if (!settings) return report(settings.error());
  store::Vault vault(paths);
  if (auto ok = vault.load(); !ok) return report(ok.error());
  bjson::object keys;
  for (const auto& name : vault.names()) {
    auto secret = vault.get(name);
    if (!secret) return report(secret.error());
    keys[name] = secret->redacted();
  }
  if (json) {
    bjson::object o;
    o["default_provider"] = settings->default_provider.empty() ? bjson::value(nullptr)
                                                               : bjson::value(settings->default_provider);
    o["api_keys"] = std::move(keys);
    print_json(o);
    return kOk;
  }
  Table table({"SETTING", "VALUE"});
  table.add({"default_provider", settings->default_provider.empty() ? "-" : settings->default_provider});
  for (const auto& [name, value] : keys) table.add({"api_keys." + std::string(name), std::string(value.as_string()) + " (vault)"});
  table.print(stdout);
  return kOk;
}

int config_path() {
  auto paths = store::Paths::from_environment();
  std::string config = paths.default_config_file();
  Table table({"WHAT", "PATH"});
  table.add({"config file", config.empty() ? paths.config_dir + "/config.yaml (absent: embedded defaults)" : config});
  table.add({"provider store", paths.providers()});
  table.add({"prompts", paths.prompts()});
  table.add({"settings", paths.settings()});
  table.add({"vault", paths.vault()});
  const char* env = std::getenv("LLMUX_MASTER_KEY");
  table.add({"master key", env && *env ? "$LLMUX_MASTER_KEY" : paths.master_key()});
  table.print(stdout);
  return kOk;
}

}  // namespace llmux::cli
