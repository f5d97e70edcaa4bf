#include "providers/openai_compatible/openai_compatible.hpp"

#include <openssl/evp.h>

#include "core/text.hpp"

namespace llmux::providers {

namespace {

bool has_scheme(std::string_view key) {
  auto starts = [&](std::string_view p) { return key.size() > p.size() && istarts_with(key, p); };
  return starts("Bearer ") || starts("Basic ");
}

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string substitute_api_key(std::string_view value, std::string_view key) {
  std::string out;
  static constexpr std::string_view placeholder = "{api_key}";
  size_t pos = 0;
  while (true) {
    size_t at = value.find(placeholder, pos);
    if (at == std::string_view::npos) break;
    out.append(value.substr(pos, at - pos));
    out.append(key);
    pos = at + placeholder.size();
  }
  out.append(value.substr(pos));
  return out;
}

}  // namespace

const char* endpoint_path(Endpoint endpoint) noexcept {
  switch (endpoint) {
    case Endpoint::chat_completions: return "/chat/completions";
    case Endpoint::completions: return "/completions";
    case Endpoint::embeddings: return "/embeddings";
    case Endpoint::models: return "/models";
    case Endpoint::responses: return "/responses";
  }
  return "";
}

std::string auth_header_line(const ProviderConfig& config) {
  std::string_view key = config.api_key.reveal();
  if (key.empty()) return {};
  switch (config.auth) {
    case AuthStyle::none: return {};
    case AuthStyle::header: return config.auth_header + ": " + std::string(key);
    case AuthStyle::basic:
      return has_scheme(key) ? "Authorization: " + std::string(key)
                             : "Authorization: Basic " + base64(key);
    case AuthStyle::bearer:
      return has_scheme(key) ? "Authorization: " + std::string(key)
                             : "Authorization: Bearer " + std::string(key);
  }
  return {};
}

std::vector<std::string> credential_and_custom_headers(const ProviderConfig& config) {
  std::vector<std::string> lines;
  // A custom header that sets the credential's own header replaces the default credential.
  std::string auth = auth_header_line(config);
  std::string_view auth_name = std::string_view(auth).substr(0, auth.find(':'));
  bool auth_overridden = false;
  for (const auto& h : config.headers) {
    if (!auth.empty() && iequals(h.name, auth_name)) auth_overridden = true;
    lines.push_back(h.name + ": " + substitute_api_key(h.value, config.api_key.reveal()));
  }
  if (!auth.empty() && !auth_overridden) lines.insert(lines.begin(), std::move(auth));
  return lines;
}

std::vector<std::string> json_request_headers(const ProviderConfig& config) {
  auto lines = credential_and_custom_headers(config);
  lines.push_back("Content-Type: application/json");
  lines.push_back("User-Agent: llmux/0.1");
  return lines;
}

OpenAICompatibleProvider::OpenAICompatibleProvider(ProviderConfig config, UpstreamLimits limits)
    : Provider(std::move(config), limits) {
  for (auto e : {Endpoint::chat_completions, Endpoint::completions, Endpoint::embeddings, Endpoint::models,
                 Endpoint::responses})
    urls_[static_cast<int>(e)] = config_.base_url + endpoint_path(e);

  fixed_headers_ = json_request_headers(config_);
  default_params_ = json::object_members(config_.default_params_json);
}

std::string OpenAICompatibleProvider::endpoint_url(Endpoint endpoint) const {
  return urls_[static_cast<int>(endpoint)];
}

Expected<void, Error> OpenAICompatibleProvider::encode_into(const EncodeInput& in, http::UpstreamRequest& out) const {
  if (in.endpoint == Endpoint::responses && !serves_responses(config_))
    return unexpected(unsupported_responses(*this));
  begin_post(in, urls_[static_cast<int>(in.endpoint)], fixed_headers_, out);
  write_openai_body(in, default_params_, out.body);
  return {};
}

void write_openai_body(const EncodeInput& in, const json::JsonMembers& default_params, std::string& out) {
  static const json::JsonMembers no_defaults;
  // Default params are chat parameters: embeddings and Responses bodies take none of them as is.
  bool takes_defaults = in.endpoint != Endpoint::embeddings && in.endpoint != Endpoint::responses;
  json::rewrite_request_into(out, in.body, *in.fields, in.upstream_model, takes_defaults ? default_params : no_defaults);
}

http::UpstreamRequest OpenAICompatibleProvider::list_models_request() const {
  return begin_get(urls_[static_cast<int>(Endpoint::models)], fixed_headers_);
}

Error OpenAICompatibleProvider::decode_error(int status, std::string_view body,
                                             std::string_view retry_after) const {
  return decode_json_error(*this, status, body, retry_after);
}

}  // namespace llmux::providers
