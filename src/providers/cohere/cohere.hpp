// Cohere's v2 API behind the OpenAI API: POST {root}/v2/chat (a JSON body, or an SSE stream of
// typed events: message-start, content-delta, tool-plan-delta, tool-call-start/-delta/-end,
// message-end), POST {root}/v2/embed, GET {root}/v1/models. Requests are translated from OpenAI's
// shape and responses back into it; a base_url ending in /v1 or /v2 is read as the API's root.
// Immutable; safe to share between threads.
//
// Usage: Cohere reports billed units and processed tokens; the billed units are what it charges
// for, so they are the usage llmux reports and prices (processed tokens only when no billed
// units came). tool_plan (the model's plan before calling tools) arrives as reasoning.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "providers/provider.hpp"

namespace llmux::providers {

class CohereProvider final : public Provider {
 public:
  static constexpr std::string_view kDefaultBaseUrl = "https://api.cohere.com";

  explicit CohereProvider(ProviderConfig config, UpstreamLimits limits = {});

  Expected<void, Error> encode_into(const EncodeInput& input, http::UpstreamRequest& out) const override;
  http::UpstreamRequest list_models_request() const override;
  std::string endpoint_url(Endpoint endpoint) const override;
  Error decode_error(int status, std::string_view body, std::string_view retry_after) const override;
  std::unique_ptr<ResponseDecoder> make_response_decoder() const override;

 private:
  std::vector<std::string> fixed_headers_;
  json::JsonMembers default_params_;
  std::string root_;
};

// The API's root for a configured base URL: "https://api.cohere.com/v2/" → "https://api.cohere.com".
std::string cohere_root(std::string_view base_url);

// OpenAI chat completions request body → Cohere v2 chat request body, appended to `out`. Fails
// with a 400 naming the field for what Cohere cannot express (n > 1, a named tool_choice, audio).
// Fields in `dropped` (the provider's drop_params) are left out instead of refused.
Expected<void, Error> translate_cohere_chat_request(std::string_view openai_body, std::string_view model, bool stream,
                                                    const json::JsonMembers& default_params, std::string& out,
                                                    std::span<const std::string> dropped = {});

// OpenAI embeddings request body → Cohere v2 embed request body (input_type search_document
// unless the default params say otherwise), appended to `out`.
Expected<void, Error> translate_cohere_embed_request(std::string_view openai_body, std::string_view model,
                                                     const json::JsonMembers& default_params, std::string& out);

// Decodes v2 chat bodies and SSE streams, and v2 embed bodies (as embeddings answers).
std::unique_ptr<ResponseDecoder> make_cohere_decoder();

}  // namespace llmux::providers
