// Anthropic's Messages API (POST {base_url}/messages) behind the OpenAI chat completions API:
// requests are translated from OpenAI's shape, responses and streams back into it. Only chat
// completions and model listing exist there; completions and embeddings are "unsupported".
// Immutable; safe to share between threads.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "providers/provider.hpp"

namespace llmux::providers {

class AnthropicProvider final : public Provider {
 public:
  static constexpr std::string_view kApiVersion = "2023-06-01";
  // Anthropic requires max_tokens; OpenAI clients often leave it out.
  static constexpr int64_t kDefaultMaxTokens = 4096;

  explicit AnthropicProvider(ProviderConfig config, UpstreamLimits limits = {});

  Expected<void, Error> encode_into(const EncodeInput& input, http::UpstreamRequest& out) const override;
  http::UpstreamRequest list_models_request() const override;
  std::string endpoint_url(Endpoint endpoint) const override;
  Error decode_error(int status, std::string_view body, std::string_view retry_after) const override;
  std::unique_ptr<ResponseDecoder> make_response_decoder() const override;
  bool serves_native(NativeApi) const override { return true; }
  Expected<void, Error> encode_native(NativeApi api, const EncodeInput& input, http::UpstreamRequest& out) const override;

 private:
  static void add_beta_header(const EncodeInput& input, http::UpstreamRequest& out);

  std::vector<std::string> fixed_headers_;
  json::JsonMembers default_params_;
  std::string messages_url_;
  std::string count_tokens_url_;
  std::string models_url_;
};

// OpenAI chat completions request body → Anthropic Messages request body, appended to `out`.
// Fails with a 400 naming the offending field for what Anthropic cannot express (n > 1, an
// audio part, a JSON response format, arguments that are not a JSON object). reasoning_effort
// becomes `thinking` (budgets as encode::thinking_budget gives them; "none" disables it), with
// Anthropic's rules for thinking checked (encode::plan_claude_thinking).
// Fields in `dropped` (the provider's drop_params) are left out instead of refused or mapped.
Expected<void, Error> translate_chat_request(std::string_view openai_body, std::string_view model, bool stream,
                                             const json::JsonMembers& default_params, std::string& out,
                                             std::span<const std::string> dropped = {});

// What sets the body for Claude on Vertex AI apart.
struct VertexBody {
  std::string_view anthropic_version;  // "vertex-2023-10-16"
  std::string_view anthropic_beta;     // the client's anthropic-beta header ("a,b"), "" for none
};

// The same body for Claude on Vertex AI (publishers/anthropic/models/{model}:rawPredict): no
// "model" (the URL names it), `anthropic_version` as its first member, and the client's betas as
// the `anthropic_beta` list (Vertex reads them from the body, not a header).
Expected<void, Error> translate_vertex_chat_request(std::string_view openai_body, const VertexBody& vertex, bool stream,
                                                    const json::JsonMembers& default_params, std::string& out,
                                                    std::span<const std::string> dropped = {});

// Decodes Anthropic message bodies and message streams (message_start … message_stop).
std::unique_ptr<ResponseDecoder> make_anthropic_decoder();

}  // namespace llmux::providers
