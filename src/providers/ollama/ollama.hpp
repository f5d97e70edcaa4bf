// Ollama's native API behind the OpenAI API: POST {base_url}/api/chat (a whole JSON body, or an
// NDJSON stream of message objects ending with one whose "done" is true), POST {base_url}/api/embed,
// GET {base_url}/api/tags. Requests are translated from OpenAI's shape and responses back into it;
// a base_url ending in /v1 (Ollama's OpenAI-compatible prefix) or /api is read as the server's root.
// Immutable; safe to share between threads.
//
// Ollama's tool calls carry no ids: a call gets "ollama_{n}" (n: its position in the response), and
// a tool result is matched back to its function's name through the assistant message that made the
// call (Ollama matches results by name). Ollama's per-request "options" (num_ctx, top_k, …) come
// from the provider's default params ({"options": {...}}) and from the client's OpenAI fields
// (temperature, top_p, seed, stop, max_tokens → num_predict, penalties), the client's winning.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "providers/provider.hpp"

namespace llmux::providers {

class OllamaProvider final : public Provider {
 public:
  static constexpr std::string_view kGeneratedIdPrefix = "ollama_";

  explicit OllamaProvider(ProviderConfig config, UpstreamLimits limits = {});

  Expected<void, Error> encode_into(const EncodeInput& input, http::UpstreamRequest& out) const override;
  http::UpstreamRequest list_models_request() const override;
  std::string endpoint_url(Endpoint endpoint) const override;
  Error decode_error(int status, std::string_view body, std::string_view retry_after) const override;
  std::unique_ptr<ResponseDecoder> make_response_decoder() const override;

 private:
  std::vector<std::string> fixed_headers_;
  json::JsonMembers default_params_;
  std::string root_;  // the server's root URL, without /v1 or /api
};

// The server's root for a configured base URL: "http://h:11434/v1/" → "http://h:11434".
std::string ollama_root(std::string_view base_url);

// OpenAI chat completions request body → Ollama /api/chat request body, appended to `out`.
// Fails with a 400 naming the field for what Ollama cannot express (n > 1, logprobs, a required or
// named tool_choice, an image by URL, audio).
// Fields in `dropped` (the provider's drop_params) are left out instead of refused.
Expected<void, Error> translate_ollama_chat_request(std::string_view openai_body, std::string_view model, bool stream,
                                                    const json::JsonMembers& default_params, std::string& out,
                                                    std::span<const std::string> dropped = {});

// OpenAI embeddings request body → Ollama /api/embed request body, appended to `out`.
Expected<void, Error> translate_ollama_embed_request(std::string_view openai_body, std::string_view model,
                                                     std::string& out);

// Decodes /api/chat bodies and NDJSON streams, and /api/embed bodies (as embeddings answers).
std::unique_ptr<ResponseDecoder> make_ollama_decoder();

}  // namespace llmux::providers
