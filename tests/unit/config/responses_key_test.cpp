// `responses:` on a provider: which providers /v1/responses passes through to.
#include <gtest/gtest.h>

#include "llmux/config.hpp"

namespace llmux {
namespace {

const ProviderConfig& only_provider(const Expected<GatewayConfig, ConfigErrors>& config) {
  return config->providers.front();
}

TEST(ResponsesKey, OpenAIAndAzureServeItUnlessToldOtherwiseOthersOnlyWhenMarked) {
  auto config = load_config_text(R"(
providers:
  - {id: openai, type: openai, api_key: sk-test-000001}
  - {id: azure, type: azure-openai, baseUrl: "https://r.openai.azure.com", apiKey: k-000001, apiVersion: "2025-04-01-preview"}
  - {id: vllm, type: openai-compatible, base_url: "http://127.0.0.1:8000/v1"}
  - {id: marked, type: openai-compatible, base_url: "http://127.0.0.1:8001/v1", responses: true}
  - {id: off, type: openai, api_key: sk-test-000002, responses: false}
)", "c.yaml");
  ASSERT_TRUE(config) << format_config_error(config.error().front());
  ASSERT_EQ(config->providers.size(), 5u);
  EXPECT_TRUE(serves_responses(config->providers[0]));
  EXPECT_TRUE(serves_responses(config->providers[1]));
  EXPECT_FALSE(serves_responses(config->providers[2]));
  EXPECT_TRUE(serves_responses(config->providers[3]));
  EXPECT_FALSE(serves_responses(config->providers[4]));
}

TEST(ResponsesKey, IsRefusedOnAProviderThatDoesNotSpeakOpenAI) {
  auto config = load_config_text(
      "providers:\n  - {id: g, type: gemini, api_key: k-000001, responses: true}\n", "c.yaml");
  ASSERT_FALSE(config);
  std::string message = format_config_error(config.error().front());
  EXPECT_NE(message.find("responses is a setting of openai-compatible and azure-openai providers"), std::string::npos)
      << message;
}

TEST(ResponsesKey, TakesABooleanOnly) {
  auto config = load_config_text(
      "providers:\n  - {id: v, base_url: \"http://127.0.0.1:8000/v1\", responses: sometimes}\n", "c.yaml");
  ASSERT_FALSE(config);
  EXPECT_NE(format_config_error(config.error().front()).find("responses"), std::string::npos)
      << format_config_error(config.error().front());
  auto fine = load_config_text("providers:\n  - {id: v, base_url: \"http://127.0.0.1:8000/v1\", responses: true}\n",
                               "c.yaml");
  ASSERT_TRUE(fine) << format_config_error(fine.error().front());
  EXPECT_TRUE(serves_responses(only_provider(fine)));
}

}  // namespace
}  // namespace llmux
