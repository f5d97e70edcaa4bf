#include "providers/openai_compatible/openai_compatible.hpp"

#include <openssl/evp.h>

namespace llmux::providers {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool has_scheme(std::string_view key) {
  auto starts = [&](std::string_view p) { return key.size() > p.size() && iequals(key.substr(0, p.size()), p); };
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

OpenAICompatibleProvider::OpenAICompatibleProvider(ProviderConfig config)
    : Provider(std::move(config)) {
  for (auto e : {Endpoint::chat_completions, Endpoint::completions, Endpoint::embeddings, Endpoint::models})
    urls_[static_cast<int>(e)] = config_.base_url + endpoint_path(e);

  // A custom header that sets the credential's own header replaces the default credential.
  std::string auth = auth_header_line(config_);
  std::string_view auth_name = std::string_view(auth).substr(0, auth.find(':'));
  bool auth_overridden = false;
  for (const auto& h : config_.headers) {
    if (!auth.empty() && iequals(h.name, auth_name)) auth_overridden = true;
    fixed_headers_.push_back(h.name + ": " + substitute_api_key(h.value, config_.api_key.reveal()));
  }
  if (!auth.empty() && !auth_overridden) fixed_headers_.insert(fixed_headers_.begin(), std::move(auth));
  fixed_headers_.push_back("Content-Type: application/json");
  fixed_headers_.push_back("User-Agent: llmux/0.1");
}

std::string OpenAICompatibleProvider::endpoint_url(Endpoint endpoint) const {
  return urls_[static_cast<int>(endpoint)];
}

Expected<http::UpstreamRequest, Error> OpenAICompatibleProvider::encode(const EncodeInput& in) const {
  http::UpstreamRequest request;
  request.url = urls_[static_cast<int>(in.endpoint)];
  request.timeout = config_.timeout;
  request.headers.reserve(fixed_headers_.size() + 2);
  request.headers = fixed_headers_;
  request.headers.push_back(in.stream ? "Accept: text/event-stream" : "Accept: application/json");
  if (!in.request_id.empty()) request.headers.push_back("x-request-id: " + std::string(in.request_id));
  request.body = json::rewrite_request(in.body, *in.fields, in.upstream_model,
                                       in.endpoint == Endpoint::embeddings ? std::string_view()
                                                                           : config_.default_params_json);
  return request;
}

http::UpstreamRequest OpenAICompatibleProvider::list_models_request() const {
  http::UpstreamRequest request;
  request.method = "GET";
  request.url = urls_[static_cast<int>(Endpoint::models)];
  request.timeout = config_.timeout;
  request.headers = fixed_headers_;
  request.headers.push_back("Accept: application/json");
  return request;
}

}  // namespace llmux::providers
