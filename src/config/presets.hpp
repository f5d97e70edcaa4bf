// Presets of the openai-compatible type: services and local servers known by name, so that
// `type: groq` (or vllm, lmstudio, …) needs no base_url, and a hosted service's key can come from
// its usual variable (GROQ_API_KEY) when the provider names none. A preset only fills what the
// provider leaves out; what it writes always wins.
#pragma once

#include <span>
#include <string_view>

#include "llmux/config.hpp"

namespace llmux::config_detail {

struct ProviderPreset {
  std::string_view name;          // as written in `type:` (lower case, '-' or '_' alike)
  std::string_view base_url;      // as the service documents its OpenAI-compatible API
  std::string_view key_variable;  // empty: a local server that needs no key
};

std::span<const ProviderPreset> provider_presets();
// The preset a `type:` value names, or nullptr (openai-compatible itself, anthropic, …).
const ProviderPreset* find_preset(std::string_view type);
// Fills the base URL (unless `base_url_given`) and the key from the preset's variable (unless
// `key_given` or the variable is unset or empty).
void apply_preset(const ProviderPreset& preset, ProviderConfig& provider, bool base_url_given, bool key_given);

}  // namespace llmux::config_detail
