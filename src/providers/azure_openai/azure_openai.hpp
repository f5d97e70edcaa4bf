// Azure OpenAI: the OpenAI wire format on a resource's own URLs. Bodies pass through as bytes, as
// for any OpenAI-compatible provider (Azure's content_filter_results and prompt_filter_results
// reach the client untouched); what differs is where a request goes and how it authenticates.
//
//   dated API versions  {resource}/openai/deployments/{deployment}/chat/completions?api-version=V
//   apiVersion "v1"     {resource}/openai/v1/chat/completions, the deployment name as `model`
//
// A model's `deployment` (the seeds' key; its upstream id) names the Azure deployment; a model not
// in the config is taken to be a deployment name. The key goes in `api-key` unless auth_type says
// otherwise (bearer: a Microsoft Entra ID token). Without apiVersion the v1 API is used: it is the
// one Azure keeps current without dated versions. Immutable; safe to share between threads.
#pragma once

#include "providers/provider.hpp"

namespace llmux::providers {

class AzureOpenAIProvider final : public Provider {
 public:
  static constexpr std::string_view kV1 = "v1";

  explicit AzureOpenAIProvider(ProviderConfig config, UpstreamLimits limits = {});

  Expected<void, Error> encode_into(const EncodeInput& input, http::UpstreamRequest& out) const override;
  http::UpstreamRequest list_models_request() const override;
  std::string endpoint_url(Endpoint endpoint) const override;
  Error decode_error(int status, std::string_view body, std::string_view retry_after) const override;

  const std::string& resource_url() const noexcept { return resource_; }

 private:
  Expected<void, Error> encode_responses(const EncodeInput& input, http::UpstreamRequest& out) const;
  bool v1() const noexcept { return config_.api_version.empty() || config_.api_version == kV1; }

  std::vector<std::string> fixed_headers_;
  json::JsonMembers default_params_;
  std::string resource_;            // https://NAME.openai.azure.com, no path
  std::string prefix_;              // …/openai/deployments/ (dated) or …/openai/v1 (v1)
  std::string query_;               // ?api-version=V, or empty for v1
};

// The resource's root URL from a configured base URL: any /openai, /openai/v1 or (added by the
// config's URL normaliser) /v1 suffix removed.
std::string azure_resource_url(std::string_view base_url);

}  // namespace llmux::providers
