// Google Cloud Vertex AI behind the OpenAI chat completions API. Gemini models take the Gemini
// adapter's body on {base_url}/projects/{projectId}/locations/{region}/publishers/google/models/
// {model}:generateContent (:streamGenerateContent?alt=sse); Claude models (ids starting with
// "claude", or every model with publisher: anthropic) take the Anthropic adapter's body, with
// anthropic_version "vertex-2023-10-16" in it and no model, on publishers/anthropic/models/
// {model}:rawPredict (:streamRawPredict). Answers are read by those adapters' decoders.
//
// Credentials: an OAuth access token from the service-account key file (serviceAccountKey),
// kept fresh by a thread of the provider's own (service_account.hpp); each request carries the
// token in memory. Model listing and the health probe use Vertex's publisher model listing
// (v1beta1/publishers/google/models). Embeddings and completions are "unsupported" (501).
#pragma once

#include <memory>

#include "providers/provider.hpp"
#include "providers/vertex/service_account.hpp"

namespace llmux::providers {

class VertexProvider final : public Provider {
 public:
  static constexpr std::string_view kAnthropicVersion = "vertex-2023-10-16";
  enum class Publisher { google, anthropic };

  explicit VertexProvider(ProviderConfig config, UpstreamLimits limits = {});
  // With a token source of the caller's (tests): the key file is not read.
  VertexProvider(ProviderConfig config, std::unique_ptr<vertex::AccessTokenSource> tokens, UpstreamLimits limits = {});

  Expected<void, Error> encode_into(const EncodeInput& input, http::UpstreamRequest& out) const override;
  http::UpstreamRequest list_models_request() const override;
  std::string endpoint_url(Endpoint endpoint) const override;
  Error decode_error(int status, std::string_view body, std::string_view retry_after) const override;
  std::unique_ptr<ResponseDecoder> make_response_decoder() const override;
  std::string startup_error() const override { return startup_error_; }

  // Where a model is published: the configured publisher, else by its id.
  Publisher publisher_of(std::string_view model) const noexcept;
  // Token requests made so far; 0 when the key file could not be read.
  uint64_t token_fetches() const { return tokens_ ? tokens_->fetches() : 0; }

 private:
  // This provider's access token removed from text an upstream sent (it may echo the request's
  // headers); the config-based scrubber cannot know a token fetched later.
  Error without_token(Error error) const;
  void set_urls();

  std::string startup_error_;
  std::unique_ptr<vertex::AccessTokenSource> tokens_;
  std::vector<std::string> fixed_headers_;
  json::JsonMembers default_params_;
  std::string google_models_url_;     // …/publishers/google/models/
  std::string anthropic_models_url_;  // …/publishers/anthropic/models/
  std::string listing_url_;
};

// Answers of either publisher: a stream whose events are named (event: message_start) is
// Anthropic's, one without names Gemini's; a body with "type":"message" or "type":"error" at
// its top is Anthropic's, any other Gemini's.
std::unique_ptr<ResponseDecoder> make_vertex_decoder();

}  // namespace llmux::providers
