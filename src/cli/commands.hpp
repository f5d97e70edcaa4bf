// The `llmux` subcommands other than serve/validate. Each returns the process exit status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/session.hpp"
#include "store/provider_edit.hpp"

namespace llmux::cli {

// provider add|update|remove|enable|disable|default|list|info
struct ProviderArgs {
  std::string name;
  std::string url;  // add: positional; update: --url
  store::ProviderEdit edit;
  bool disabled = false;  // add --disabled
  bool enable = false, disable = false;  // update --enable/--disable
  bool json = false;
  bool all = false;  // list --all
  std::string config_file;
};
int provider_add(ProviderArgs args);
int provider_update(ProviderArgs args);
int provider_remove(const ProviderArgs& args);
int provider_set_enabled(const ProviderArgs& args, bool enabled);
int provider_default(const ProviderArgs& args);
int provider_list(const ProviderArgs& args);
int provider_info(const ProviderArgs& args);

// provider test
struct TestArgs {
  std::string name;
  std::vector<std::string> tests;  // auth, models, chat, streaming, errors; empty = all
  std::string model;
  bool json = false;
  std::string config_file;
};
int provider_test(const TestArgs& args);

// api-key NAME, config set|get|unset|list|path
struct KeyArgs {
  std::string name;
  bool remove = false;
};
int api_key(const KeyArgs& args);
int config_set(const std::string& key, const std::string& value);
int config_get(const std::string& key);
int config_unset(const std::string& key);
int config_list(bool json);
int config_path();

// chat, run, models
struct ChatArgs {
  std::string prompt;
  std::string provider;
  std::string model;
  std::string system;
  std::optional<double> temperature;
  std::optional<int64_t> max_tokens;
  bool stream = false;
  bool json = false;
  bool usage = false;
  std::string gateway;
  std::string gateway_key;
  std::string config_file;
};
int chat(ChatArgs args);

struct RunArgs {
  std::string name;
  std::vector<std::string> params;  // NAME=VALUE
  bool dry_run = false;
  ChatArgs chat;
};
int run_prompt(RunArgs args);

struct ModelsArgs {
  std::string provider;
  bool json = false;
  std::string gateway;
  std::string gateway_key;
  std::string config_file;
};
int models(const ModelsArgs& args);

// prompt create|list|show|remove
struct PromptArgs {
  std::string name;
  std::string text;
  std::string system;
  std::string description;
  bool force = false;
  bool json = false;
};
int prompt_create(const PromptArgs& args);
int prompt_list(const PromptArgs& args);
int prompt_show(const PromptArgs& args);
int prompt_remove(const PromptArgs& args);

// usage [--since] [--until] [--by] [--json] [--reprice]
struct UsageArgs {
  std::string since, until, by;
  bool json = false;
  bool reprice = false;  // recompute every recorded cost from its tokens with the current prices
  std::string config_file;
};
int usage(const UsageArgs& args);

// keys create|list|show|update|revoke: the gateway's virtual keys (vkeys_cmd.cpp)
struct VirtualKeyArgs {
  std::string name;  // create --name
  std::string id;    // show|update|revoke: id or name
  std::optional<double> budget_daily, budget_monthly;  // USD
  std::optional<uint32_t> rpm, tpm;
  std::vector<std::string> models;  // create/update --models a,b
  bool all_models = false;          // update --all-models
  std::string expires;              // 30d, 12h, a UTC date, never
  bool json = false;
  std::string config_file;
};
int vkeys_create(const VirtualKeyArgs& args);
int vkeys_list(const VirtualKeyArgs& args);
int vkeys_show(const VirtualKeyArgs& args);
int vkeys_update(const VirtualKeyArgs& args);
int vkeys_revoke(const VirtualKeyArgs& args);

// completion bash|zsh
int completion(const std::string& shell);
// Hidden helper for the completion script: provider or prompt names, one per line.
int complete_names(const std::string& what);

}  // namespace llmux::cli
