// Any endpoint that speaks the OpenAI HTTP API (OpenAI itself, Together, Groq, Ollama, vLLM, LM
// Studio, private servers). The client body passes through as bytes; only the model id is
// rewritten and default params merged. Immutable; safe to share between threads.
#pragma once

#include "providers/provider.hpp"

namespace llmux::providers {

class OpenAICompatibleProvider final : public Provider {
 public:
  explicit OpenAICompatibleProvider(ProviderConfig config, UpstreamLimits limits = {});

  Expected<void, Error> encode_into(const EncodeInput& input, http::UpstreamRequest& out) const override;
  http::UpstreamRequest list_models_request() const override;
  std::string endpoint_url(Endpoint endpoint) const override;
  Error decode_error(int status, std::string_view body, std::string_view retry_after) const override;

  // Headers sent on every request: credential and custom headers, computed once.
  const std::vector<std::string>& fixed_headers() const noexcept { return fixed_headers_; }

 private:
  std::vector<std::string> fixed_headers_;
  json::JsonMembers default_params_;  // parsed once, merged into every generation request
  std::string urls_[5];  // by Endpoint
};

// The client's body for an OpenAI-style upstream, written into `out`: the upstream model id, and
// the provider's default params under the client's values (not for embeddings, whose body takes
// none of the generation parameters).
void write_openai_body(const EncodeInput& input, const json::JsonMembers& default_params, std::string& out);

// The credential header for a provider, or "" when it sends none.
std::string auth_header_line(const ProviderConfig& config);
// The credential header (unless a custom header replaces it) and the custom headers, with
// {api_key} substituted: the header lines every request of the provider carries.
std::vector<std::string> credential_and_custom_headers(const ProviderConfig& config);
// Those, then the JSON Content-Type and llmux's User-Agent: what every adapter's POST carries.
std::vector<std::string> json_request_headers(const ProviderConfig& config);

// Decodes OpenAI chat completion bodies and chunk streams into canonical form, for a client that
// speaks another API (an inbound dialect such as /v1/messages); OpenAI clients get the bytes.
std::unique_ptr<ResponseDecoder> make_openai_decoder();

}  // namespace llmux::providers
