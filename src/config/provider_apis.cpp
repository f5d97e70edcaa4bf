#include "config/provider_apis.hpp"

#include "config/config_internal.hpp"

namespace llmux {

namespace {

// The host of an http(s) URL, without userinfo or port.
std::string_view url_host(std::string_view url) {
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  if (auto at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  return url.substr(0, url.find(':'));
}

}  // namespace

bool serves_responses(const ProviderConfig& provider) {
  if (provider.apis.responses) return *provider.apis.responses;
  if (provider.type == config_detail::kAzureOpenAI) return true;
  // OpenAI itself (the `openai` preset, or its URL written out) serves it; other OpenAI-compatible
  // servers mostly do not, and say so only with a 404, so they are asked to opt in.
  return provider.type == config_detail::kOpenAICompatible && iequals(url_host(provider.base_url), "api.openai.com");
}

namespace config_detail {

std::optional<std::string> responses_setting_problem(std::string_view type) {
  if (type == kOpenAICompatible || type == kAzureOpenAI) return std::nullopt;
  return "responses is a setting of openai-compatible and azure-openai providers: /v1/responses passes through "
         "as bytes, and a '" + std::string(type) + "' provider does not speak OpenAI's Responses API";
}

}  // namespace config_detail

}  // namespace llmux
