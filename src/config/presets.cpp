#include "config/presets.hpp"

#include <array>
#include <cstdlib>

#include "core/text.hpp"

namespace llmux::config_detail {

namespace {

// Base URLs as the services document them for their OpenAI-compatible API; local servers on
// their default ports.
constexpr std::array<ProviderPreset, 17> kPresets = {{
    {"openai", "https://api.openai.com/v1", "OPENAI_API_KEY"},
    {"mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"},
    {"groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"},
    {"together", "https://api.together.xyz/v1", "TOGETHER_API_KEY"},
    {"openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"},
    {"deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"},
    {"fireworks", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"},
    {"xai", "https://api.x.ai/v1", "XAI_API_KEY"},
    {"perplexity", "https://api.perplexity.ai", "PERPLEXITY_API_KEY"},
    {"anyscale", "https://api.endpoints.anyscale.com/v1", "ANYSCALE_API_KEY"},
    {"huggingface", "https://router.huggingface.co/v1", "HF_TOKEN"},
    {"lmstudio", "http://localhost:1234/v1", ""},
    {"vllm", "http://localhost:8000/v1", ""},
    {"tgi", "http://localhost:8080/v1", ""},
    {"localai", "http://localhost:8080/v1", ""},
    {"jan", "http://localhost:1337/v1", ""},
    {"llamafile", "http://localhost:8080/v1", ""},
}};

std::string folded_type(std::string_view type) {
  std::string lower = to_lower(type);
  for (char& c : lower)
    if (c == '_') c = '-';
  return lower;
}

}  // namespace

std::span<const ProviderPreset> provider_presets() { return kPresets; }

const ProviderPreset* find_preset(std::string_view type) {
  std::string name = folded_type(type);
  if (name == "hugging-face" || name == "hf") name = "huggingface";
  if (name == "lm-studio") name = "lmstudio";
  for (const auto& preset : kPresets)
    if (preset.name == name) return &preset;
  return nullptr;
}

void apply_preset(const ProviderPreset& preset, ProviderConfig& provider, bool base_url_given, bool key_given) {
  if (!base_url_given && provider.base_url.empty()) provider.base_url = std::string(preset.base_url);
  if (key_given || preset.key_variable.empty() || !provider.api_key.empty()) return;
  const char* key = std::getenv(std::string(preset.key_variable).c_str());
  if (key && *key) provider.api_key = Secret(key);
}

}  // namespace llmux::config_detail
