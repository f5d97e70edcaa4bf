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

// Measured by bench/tls_paths.py (README "HTTP/2 to providers"): against an upstream offering
// both, the pool of HTTP/1.1 connections costs less CPU per request than multiplexed HTTP/2 at 32
// and at 512 concurrent requests, for plain and streamed answers alike, so it is every type's
// default; http_version: "2" remains for upstreams that limit connections.
HttpVersion effective_http_version(const ProviderConfig& provider) {
  return provider.http_version == HttpVersion::unset ? HttpVersion::http1_1 : provider.http_version;
}

namespace config_detail {

Expected<HttpVersion, std::string> parse_http_version(std::string_view text) {
  std::string v = to_lower(text);
  if (v.rfind("http/", 0) == 0) v.erase(0, 5);
  if (v == "1.1" || v == "1") return HttpVersion::http1_1;
  if (v == "2" || v == "2.0") return HttpVersion::http2;
  return unexpected("unknown HTTP version \"" + std::string(text) + "\"; expected \"1.1\" or \"2\"");
}

std::optional<std::string> http_version_problem(const ProviderConfig& provider) {
  if (provider.http_version != HttpVersion::http2 || provider.base_url.rfind("https://", 0) == 0) return std::nullopt;
  return "http_version \"2\" needs an https:// base_url (HTTP/2 is agreed during the TLS handshake); \"" +
         provider.base_url + "\" is cleartext";
}

std::optional<std::string> responses_setting_problem(std::string_view type) {
  if (type == kOpenAICompatible || type == kAzureOpenAI) return std::nullopt;
  return "responses is a setting of openai-compatible and azure-openai providers: /v1/responses passes through "
         "as bytes, and a '" + std::string(type) + "' provider does not speak OpenAI's Responses API";
}

std::optional<std::string> drop_param_problem(std::string_view name) {
  for (std::string_view known : kDroppableParams)
    if (name == known) return std::nullopt;
  std::string list;
  for (std::string_view known : kDroppableParams) list += (list.empty() ? "" : ", ") + std::string(known);
  return "\"" + std::string(name) + "\" is not a request field drop_params can drop (" + list + ")";
}

std::optional<std::string> drop_params_type_problem(std::string_view type) {
  if (type != kOpenAICompatible && type != kAzureOpenAI) return std::nullopt;
  return "drop_params is for translating adapters; a " + std::string(type) +
         " provider passes every field through as the client sent it";
}

}  // namespace config_detail

}  // namespace llmux
