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
};

int run_serve(const ServeOptions& options);
int run_validate(const std::string& config_file);

}  // namespace llmux::cli
