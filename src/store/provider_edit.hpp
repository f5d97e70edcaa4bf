// What `llmux provider add|update` asks to change, checked for exact errors and then applied to
// the provider's YAML mapping as written (unknown or hand-written keys are kept).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/files.hpp"

namespace llmux::store {

struct ProviderEdit {
  std::optional<std::string> display_name;
  std::optional<std::string> base_url;
  std::optional<std::string> type;
  std::vector<std::string> add_models;
  std::vector<std::string> remove_models;
  bool clear_models = false;
  std::optional<std::string> default_model;
  std::vector<std::string> headers;         // "Name:value" as given on the command line
  std::vector<std::string> remove_headers;  // names
  std::optional<std::string> auth_type;     // bearer | api-key | basic | none
  std::optional<std::string> auth_header;
  std::optional<std::string> api_key_env;   // written as api_key: ${VAR}
  bool clear_api_key = false;               // drop api_key from the file (the vault key is used)
  std::optional<int64_t> context_window;
  std::optional<double> price_input;   // USD per 1K tokens, written as pricing.input
  std::optional<double> price_output;  // USD per 1K tokens, written as pricing.output
  // USD per 1M tokens, written as pricing.<name>_per_mtok
  std::optional<double> price_input_per_mtok;
  std::optional<double> price_output_per_mtok;
  std::optional<double> price_cached_input_per_mtok;
  std::optional<double> price_cache_write_per_mtok;
  std::optional<double> price_reasoning_per_mtok;
  std::optional<int> priority;
  std::optional<std::string> timeout;
  std::optional<int> max_retries;
  std::optional<bool> enabled;

  bool empty() const;
  bool prices_given() const;
};

// A header argument split at its first ':' (the value is trimmed of surrounding blanks).
struct HeaderArg {
  std::string name;
  std::string value;
};
Result<HeaderArg> parse_header_arg(const std::string& arg);

// Every problem with the arguments at once: invalid URL, unknown type, header without ':', CR/LF
// in a header (header injection), bad auth type, variable name, duration or number.
Result<void> check_edit(const ProviderEdit& edit, bool adding);
Result<void> check_provider_name(const std::string& name);

// Applies a checked edit to a provider mapping (creating keys in the usual order when adding).
void apply_edit(YAML::Node& provider, const ProviderEdit& edit);

// What an edit did to the listed models and the default model, one line each ("added model m2;
// models now: m1, m2"), so `provider update --model` says that it adds rather than replaces.
std::vector<std::string> model_changes(const YAML::Node& before, const YAML::Node& after);

}  // namespace llmux::store
