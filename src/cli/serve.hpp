// `llmux serve` and `llmux validate`.
#pragma once

#include <optional>
#include <string>

namespace llmux::cli {

struct ServeOptions {
  std::string config_file;  // empty: $XDG_CONFIG_HOME/llmux/config.yaml if present, else defaults
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<int> threads;
  bool dry_run = false;
  bool discover = true;  // look for API-key variables and local servers when there is no config
  bool watch = true;     // reload when the config file, provider store or vault changes
};

// Serves the config file plus the provider store (and vault keys), reloading on change: an
// invalid change is reported on stderr and the last good config keeps serving.
int run_serve(const ServeOptions& options);

// What serve would load, checked: parsed, variables expanded, references resolved. Prints a
// summary or every error (file:line:column); exit 1 on error.
int run_validate(const std::string& config_file, bool json = false);

}  // namespace llmux::cli
