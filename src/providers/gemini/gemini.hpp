// Google AI Studio's Gemini API (POST {base_url}/models/{model}:generateContent, and
// :streamGenerateContent?alt=sse) behind the OpenAI chat completions API: requests are translated
// from OpenAI's shape, responses and streams back into it. Only chat completions and model listing
// exist there; completions and embeddings are "unsupported". Immutable; safe to share between threads.
//
// Tool call ids: Gemini's API does not always send ids for function calls. A call without one gets
// "gemini_{n}" (n: its position in the response), followed by "_{thoughtSignature}" when the
// part carried a signature, so the signature Gemini 3 requires back with the call returns with the
// id the client echoes. Encoding maps a tool result to its function's name through the
// assistant message that made the call (Gemini matches results by name and order); ids the
// adapter made are not sent upstream, ids Gemini sent are.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "providers/provider.hpp"

namespace llmux::providers {

class GeminiProvider final : public Provider {
 public:
  static constexpr std::string_view kKeyHeader = "x-goog-api-key";
  static constexpr std::string_view kGeneratedIdPrefix = "gemini_";

  explicit GeminiProvider(ProviderConfig config, UpstreamLimits limits = {});

  Expected<void, Error> encode_into(const EncodeInput& input, http::UpstreamRequest& out) const override;
  http::UpstreamRequest list_models_request() const override;
  std::string endpoint_url(Endpoint endpoint) const override;
  Error decode_error(int status, std::string_view body, std::string_view retry_after) const override;
  std::unique_ptr<ResponseDecoder> make_response_decoder() const override;

 private:
  std::vector<std::string> fixed_headers_;
  json::JsonMembers default_params_;
  std::string models_url_;  // {base_url}/models
};

// OpenAI chat completions request body → Gemini GenerateContentRequest body, appended to `out`.
// Fails with a 400 naming the offending field for what Gemini cannot express (n > 1, logprobs,
// parallel_tool_calls false, an audio part, a tool result for an unknown call, reasoning_effort
// "none" for a Gemini 3 model). `model` decides how reasoning_effort is written (thinkingLevel
// for Gemini 3 models, thinkingBudget for earlier ones).
// Fields in `dropped` (the provider's drop_params) are left out instead of refused.
Expected<void, Error> translate_gemini_request(std::string_view openai_body, std::string_view model,
                                               const json::JsonMembers& default_params, std::string& out,
                                               std::span<const std::string> dropped = {});

// The model path segment for a model id ("gemini-2.5-flash", or "models/gemini-2.5-flash"); an
// id that cannot stand in a URL path is an error.
Expected<std::string_view, Error> gemini_model_segment(std::string_view model);

// Decodes GenerateContentResponse bodies and their SSE streams.
std::unique_ptr<ResponseDecoder> make_gemini_decoder();

// The client-facing error for a Google API error body ({"error":{"code","message","status",
// "details"}}: the status as the type, a RetryInfo delay as Retry-After); other JSON shapes as
// decode_json_error reads them.
Error decode_google_error(const Provider& provider, int status, std::string_view body, std::string_view retry_after);

// Google's error status ("RESOURCE_EXHAUSTED") as an OpenAI error type ("rate_limit_error").
std::string_view gemini_error_type(std::string_view status, int http_status);

}  // namespace llmux::providers
