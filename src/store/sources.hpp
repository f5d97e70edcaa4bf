// The effective gateway config: the config file (explicit, or $XDG_CONFIG_HOME/llmux/config.yaml,
// or the embedded defaults) plus the providers of the provider store, with API keys from the
// vault filled in. Used by `llmux serve` (and its hot reload), `llmux validate` and the commands
// that talk to providers.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "llmux/config.hpp"
#include "store/files.hpp"

namespace llmux::store {

struct SourceOptions {
  std::string config_file;  // explicit --config; empty: config.yaml under the config dir, if any
  // An unset ${VAR} is an error naming it (serve, validate). Otherwise it expands to "" and is
  // listed in ProviderOrigin::unset_vars, so one provider's missing variable does not stop
  // commands that use another.
  bool strict_env = true;
  // Without a config file: providers for the known services whose key variable is set or whose
  // key is in the vault (openai, groq, …).
  bool discover = true;
  // Without a config file: probe local servers (Ollama, vLLM, LM Studio).
  bool probe_local = false;
  // Only the provider store (with vault keys): no config file, no discovery.
  bool store_only = false;
};

struct ProviderOrigin {
  std::string kind;  // config | store | environment | vault | probe
  std::string file;  // the file it is written in, for config and store providers
  int line = 0;
  std::string key_source;  // "${VAR}", "$VAR", "vault", "file", "none"
  std::vector<std::string> unset_vars;
  std::string auth_type;  // as written (empty: default)
};

struct Assembled {
  GatewayConfig config;
  std::string config_file;  // empty: embedded defaults
  std::string store_file;
  bool store_exists = false;
  size_t store_providers = 0;
  std::map<std::string, ProviderOrigin> origins;
  std::vector<std::string> watch;  // files whose change means "reload"

  std::string describe() const;  // "/…/config.yaml + /…/providers.yaml"
  std::vector<std::string> ids() const;
  const ProviderConfig* find(std::string_view id) const;
};

Result<Assembled> assemble(const Paths& paths, const SourceOptions& options);

}  // namespace llmux::store
