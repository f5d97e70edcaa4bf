// The embedded defaults `llmux serve` uses without a config file: providers found from
// well-known API-key variables and from local model servers answering on their default ports.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/config.hpp"

namespace llmux::discovery {

struct KnownService {
  const char* id;
  const char* env_var;
  const char* base_url;
  const char* default_model;
  const char* type = "openai-compatible";
};

// Hosted services recognised by their API-key variable.
const std::vector<KnownService>& known_services();
// The variable overriding a known service's base URL: OPENAI_BASE_URL for OPENAI_API_KEY (a
// proxy, a regional endpoint, a test server).
std::string base_url_variable(const KnownService& service);
// The provider for a known service with its key: URL (or $<SERVICE>_BASE_URL), type, how the key
// is sent, default model.
ProviderConfig service_provider(const KnownService& service, Secret key);

// Providers for every known API-key variable that is set (the key stays a ${VAR} reference in
// spirit: it is read from the environment, never written anywhere).
std::vector<ProviderConfig> providers_from_environment();

// A provider's live model ids, or why there are none ("HTTP 401", "no answer within 3s", …).
struct ModelList {
  std::vector<std::string> ids;
  std::string error;  // empty when the listing was read
};

// Model ids of a listing: {"data":[{"id":…}]} (OpenAI, Anthropic, most servers), a bare array of
// the same objects (Together), or {"models":[{"name":…}]} (Ollama's /api/tags; Gemini's, whose
// names start with "models/"). nullopt when the body is not a listing.
std::optional<std::vector<std::string>> listed_model_ids(std::string_view body);

// GET /models of every provider at once (its own URL, credential and headers), all within
// `timeout`, by provider id. Never a credential in an error.
std::map<std::string, ModelList> fetch_model_lists(const std::vector<ProviderConfig>& providers,
                                                   std::chrono::milliseconds timeout);

// Probes Ollama (11434), vLLM (8000) and LM Studio (1234) on 127.0.0.1 with a short timeout and
// returns a provider, with its live model list, for each that answers GET /v1/models.
std::vector<ProviderConfig> probe_local_servers(std::chrono::milliseconds timeout);

// XDG directories: $XDG_CONFIG_HOME/llmux (~/.config/llmux), $XDG_STATE_HOME/llmux
// (~/.local/state/llmux).
std::string config_dir();
std::string state_dir();

}  // namespace llmux::discovery
