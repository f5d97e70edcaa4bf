// AWS Bedrock through its Converse API (type aws-bedrock): POST /model/{modelId}/converse and
// /converse-stream on https://bedrock-runtime.{region}.amazonaws.com (base_url overrides it), every
// request SigV4-signed (or, with an api_key, a Bedrock API key as a bearer token). Streams come in
// AWS's binary event-stream framing (eventstream.hpp).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "json/request_view.hpp"
#include "providers/bedrock/sigv4.hpp"
#include "providers/provider.hpp"

namespace llmux::providers {

class BedrockProvider : public Provider {
 public:
  BedrockProvider(ProviderConfig config, UpstreamLimits limits = {});

  Expected<void, Error> encode_into(const EncodeInput& input, http::UpstreamRequest& out) const override;
  http::UpstreamRequest list_models_request() const override;
  // Signed over the URL it is sent to: a router.health.path is signed as itself.
  http::UpstreamRequest probe_request(std::string_view path) const override;
  std::string endpoint_url(Endpoint endpoint) const override;
  Error decode_error(int status, std::string_view body, std::string_view retry_after) const override;
  Error decode_error_with_type(int status, std::string_view body, std::string_view retry_after,
                               std::string_view error_type) const override;
  std::unique_ptr<ResponseDecoder> make_response_decoder() const override;

  // Where the credentials came from ("config", "environment", "~/.aws/credentials [default]"), or
  // empty when none were found.
  const std::string& credential_source() const noexcept { return credential_source_; }

 private:
  // Adds the signature headers of a request to `out` (built for `url`, with its body).
  void sign(const bedrock::SigV4Signer& signer, http::UpstreamRequest& out) const;
  std::string model_url(std::string_view model, bool stream) const;

  std::vector<std::string> fixed_headers_;
  json::JsonMembers default_params_;
  std::string root_;          // the runtime API's root URL, no trailing slash
  std::string listing_url_;   // the control plane's foundation-models
  std::unique_ptr<bedrock::SigV4Signer> signer_;  // null without credentials (or with an api_key)
  std::string credential_source_;
};

// The URL path segment of a model id: everything but unreserved characters percent-encoded, so
// inference profiles ("us.anthropic.claude-…-v1:0") and ARNs (':' and '/') stay one segment.
std::string bedrock_model_segment(std::string_view model);

// OpenAI chat completions request body → Converse request body, appended to `out`. Fails with a
// 400 naming the field for what Converse cannot express.
// Fields in `dropped` (the provider's drop_params) are left out instead of refused or mapped.
Expected<void, Error> translate_bedrock_request(std::string_view openai_body, std::string_view model,
                                                const json::JsonMembers& default_params, std::string& out,
                                                std::span<const std::string> dropped = {});

// OpenAI's error type for a Bedrock exception name (either case of its first letter, as the
// x-amzn-ErrorType header and stream exceptions write them) or, without one, an HTTP status.
std::string_view bedrock_error_type(std::string_view exception, int status);

// Decodes Converse bodies and ConverseStream event-stream messages.
std::unique_ptr<ResponseDecoder> make_bedrock_decoder();

// AWS credentials as the SDKs find them: the config's keys, else AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the `profile` (AWS_PROFILE, "default") section of
// the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials). `source` says
// which; nullopt when none has both keys.
std::optional<bedrock::AwsCredentials> find_aws_credentials(const ProviderAwsConfig& config, std::string& source);

}  // namespace llmux::providers
