#include "providers/azure_openai/azure_openai.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace llmux::providers {
namespace {

// The seeds' Azure OpenAI entry, as written there (apiVersion, models[].deployment, the api-key
// header with {api_key}).
constexpr const char* kSeedAzure = R"json({"providers": [{
  "id": "azure_openai", "name": "Azure OpenAI", "type": "azure-openai",
  "baseUrl": "https://your-resource.openai.azure.com", "apiKey": "your-azure-api-key",
  "apiVersion": "2024-02-15-preview",
  "models": [{"id": "gpt-5-deployment", "name": "GPT-4 (Azure)", "contextWindow": 128000,
              "deployment": "gpt-5-deployment-name"}],
  "headers": {"api-key": "{api_key}"}}]})json";

std::unique_ptr<Provider> provider_from(const std::string& config_text) {
  auto config = load_config_text(config_text, "azure.json");
  if (!config) {
    ADD_FAILURE() << format_config_error(config.error().front());
    return nullptr;
  }
  auto p = make_provider(config->providers.at(0));
  if (!p) ADD_FAILURE() << p.error();
  return p ? std::move(*p) : nullptr;
}

bool has(const std::vector<std::string>& headers, const std::string& line) {
  return std::find(headers.begin(), headers.end(), line) != headers.end();
}

Expected<http::UpstreamRequest, Error> encode(const Provider& p, Endpoint endpoint, const std::string& body,
                                             std::string_view model, bool stream = false) {
  auto fields = json::read_request(body);
  EXPECT_TRUE(fields);
  return p.encode({endpoint, body, &fields.value(), model, "rid-9", stream});
}

TEST(AzureOpenAI, TheSeedConfigSendsTheDeploymentPathApiVersionAndApiKeyHeader) {
  auto p = provider_from(kSeedAzure);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->config().type, "azure-openai");
  EXPECT_EQ(p->make_response_decoder(), nullptr);  // bodies pass through: Azure's filter annotations reach the client
  ASSERT_EQ(p->config().models.size(), 1u);
  EXPECT_EQ(p->config().models[0].upstream_id, "gpt-5-deployment-name");

  std::string body = R"({"model":"gpt-5-deployment","messages":[{"role":"user","content":"hi"}]})";
  auto r = encode(*p, Endpoint::chat_completions, body, p->config().models[0].upstream_id, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->url,
            "https://your-resource.openai.azure.com/openai/deployments/gpt-5-deployment-name/chat/completions"
            "?api-version=2024-02-15-preview");
  auto headers = r->all_headers();
  EXPECT_TRUE(has(headers, "api-key: your-azure-api-key"));
  EXPECT_FALSE(std::any_of(headers.begin(), headers.end(),
                           [](const std::string& h) { return h.starts_with("Authorization"); }));
  EXPECT_TRUE(has(headers, "Accept: text/event-stream"));
  EXPECT_EQ(r->body, R"({"model":"gpt-5-deployment-name","messages":[{"role":"user","content":"hi"}]})");

  auto emb = encode(*p, Endpoint::embeddings, R"({"model":"e","input":"x"})", "text-embed");
  ASSERT_TRUE(emb);
  EXPECT_EQ(emb->url,
            "https://your-resource.openai.azure.com/openai/deployments/text-embed/embeddings?api-version=2024-02-15-preview");
  EXPECT_EQ(p->list_models_request().url,
            "https://your-resource.openai.azure.com/openai/models?api-version=2024-02-15-preview");
}

TEST(AzureOpenAI, ApiVersionV1AndNoVersionUseTheOpenAIV1PathWithTheDeploymentAsModel) {
  for (std::string version_line : {std::string(R"("api_version": "v1",)"), std::string()}) {
    auto p = provider_from(R"({"providers": [{"id": "az", "type": "azure", "base_url": "https://r.openai.azure.com/openai/",)" +
                           version_line + R"("api_key": "k", "models": [{"id": "fast", "deployment": "gpt-4o-mini-prod"}]}]})");
    ASSERT_TRUE(p);
    auto r = encode(*p, Endpoint::chat_completions, R"({"model":"fast","messages":[]})", "gpt-4o-mini-prod");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->url, "https://r.openai.azure.com/openai/v1/chat/completions") << version_line;
    EXPECT_EQ(r->body, R"({"model":"gpt-4o-mini-prod","messages":[]})");
    EXPECT_TRUE(has(r->all_headers(), "api-key: k"));
    EXPECT_EQ(p->list_models_request().url, "https://r.openai.azure.com/openai/v1/models");
  }
}

TEST(AzureOpenAI, TheResourceUrlIsFoundWhateverSuffixTheBaseUrlHas) {
  for (const char* url : {"https://r.openai.azure.com", "https://r.openai.azure.com/", "https://r.openai.azure.com/v1",
                          "https://r.openai.azure.com/openai", "https://r.openai.azure.com/openai/v1/"})
    EXPECT_EQ(azure_resource_url(url), "https://r.openai.azure.com") << url;
}

TEST(AzureOpenAI, BearerAuthSendsAnEntraIdTokenInsteadOfTheApiKeyHeader) {
  auto p = provider_from(R"({"providers": [{"id": "az", "type": "azure-openai", "base_url": "https://r.openai.azure.com",
                               "auth_type": "bearer", "api_key": "eyJ0eXAi.token", "models": ["d1"]}]})");
  ASSERT_TRUE(p);
  auto r = encode(*p, Endpoint::chat_completions, R"({"model":"d1","messages":[]})", "d1");
  ASSERT_TRUE(r);
  EXPECT_TRUE(has(r->all_headers(), "Authorization: Bearer eyJ0eXAi.token"));
}

TEST(AzureOpenAI, ADeploymentNameThatWouldChangeTheUrlIsRefused) {
  auto p = provider_from(R"({"providers": [{"id": "az", "type": "azure-openai", "base_url": "https://r.openai.azure.com",
                               "apiVersion": "2024-10-21", "api_key": "k"}]})");
  ASSERT_TRUE(p);
  for (std::string_view model : {"a/b", "x?api-version=1", "..", "d%2F", ""}) {
    auto r = encode(*p, Endpoint::chat_completions, R"({"model":"m","messages":[]})", model);
    ASSERT_FALSE(r) << model;
    EXPECT_EQ(r.error().http_status, 400);
    EXPECT_EQ(r.error().param, "model");
  }
}

TEST(AzureOpenAI, ApiVersionOnAnotherProviderTypeIsAConfigError) {
  auto config = load_config_text(R"({"providers": [{"id": "o", "base_url": "http://127.0.0.1:1/v1", "apiVersion": "v1"}]})", "o.json");
  ASSERT_FALSE(config);
  EXPECT_NE(format_config_error(config.error().front()).find("azure-openai"), std::string::npos);
}

TEST(AzureOpenAI, AContentFilterRefusalBecomesTheContentPolicyErrorNamingTheCategories) {
  auto p = provider_from(kSeedAzure);
  ASSERT_TRUE(p);
  std::string body =
      R"({"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",)"
      R"("type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation",)"
      R"("content_filter_result":{"hate":{"filtered":true,"severity":"high"},"jailbreak":{"filtered":true,"detected":true},)"
      R"("sexual":{"filtered":false,"severity":"safe"}}}}})";
  Error e = p->decode_error(400, body, "");
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.code, "content_filter");
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_EQ(e.param, "prompt");
  EXPECT_NE(e.message.find("hate (high), jailbreak (detected)"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("sexual"), std::string::npos) << e.message;
}

TEST(AzureOpenAI, AzureErrorCodesPassThroughAndTheKeyIsScrubbed) {
  auto p = provider_from(kSeedAzure);
  ASSERT_TRUE(p);
  Error e = p->decode_error(
      404, R"({"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}})", "");
  EXPECT_EQ(e.http_status, 404);
  EXPECT_EQ(e.code, "DeploymentNotFound");
  Error echoed = p->decode_error(401, R"({"error":{"code":"401","message":"Access denied: key your-azure-api-key is invalid"}})", "");
  EXPECT_EQ(echoed.message.find("your-azure-api-key"), std::string::npos) << echoed.message;
}

}  // namespace
}  // namespace llmux::providers
