// End-to-end: OpenAI clients through the real llmux to the real fake provider speaking Azure
// OpenAI (deployment paths with api-version, the v1 path, the api-key header, content-filter
// annotations and refusals). Azure's bodies pass through as bytes, so what the client gets is what
// the fake sent, annotations included.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

constexpr const char* kAzureKey = "azure-upstream-key-7781";

class AzureGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(start_fake({"--require-key", kAzureKey}));
    const std::string resource = "http://127.0.0.1:" + std::to_string(fake_->port);
    // As the seeds write it: list style, camelCase, apiVersion, models[].deployment.
    gateway_ = new Gateway(start_gateway(R"(
providers:
  - id: azure
    type: azure-openai
    baseUrl: )" + resource + R"(
    apiKey: )" + kAzureKey + R"(
    apiVersion: "2024-10-21"
    maxRetries: 0
    models:
      - id: gpt-4o
        deployment: prod-4o
        contextWindow: 128000
      - id: embed
        deployment: embed-3-small
  - id: azure-v1
    type: azure-openai
    baseUrl: )" + resource + R"(/openai/v1
    apiKey: )" + kAzureKey + R"(
    apiVersion: v1
    maxRetries: 0
    models:
      - id: gpt-4o-mini
        deployment: mini-prod
)"));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }

  static HttpResponse chat(const std::string& body) { return http_post(gateway_->url("/v1/chat/completions"), body); }
  static json::object last_upstream_request() {
    auto log = json::parse(http_get("http://127.0.0.1:" + std::to_string(fake_->port) + "/_fake/requests").body).as_array();
    if (log.empty()) {
      ADD_FAILURE() << "the fake got no request";
      return {};
    }
    return log.back().as_object();
  }

  static FakeProvider* fake_;
  static Gateway* gateway_;
};
FakeProvider* AzureGatewayTest::fake_ = nullptr;
Gateway* AzureGatewayTest::gateway_ = nullptr;

constexpr const char* kMessages = R"("messages":[{"role":"user","content":"capital of Denmark?"}])";

TEST_F(AzureGatewayTest, ADatedVersionGoesToTheDeploymentPathWithApiVersionAndApiKey) {
  auto r = chat(std::string(R"({"model":"gpt-4o",)") + kMessages + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v.at("object").as_string(), "chat.completion");
  EXPECT_FALSE(v.at("choices").at(0).at("message").at("content").as_string().empty());
  // Azure's annotations reach the client untouched.
  EXPECT_EQ(v.at("choices").at(0).at("content_filter_results").at("hate").at("severity").as_string(), "safe");
  EXPECT_EQ(v.at("prompt_filter_results").at(0).at("prompt_index").as_int64(), 0);

  auto sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), "/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21");
  const auto& headers = sent.at("headers").as_object();
  EXPECT_EQ(headers.at("api-key").as_string(), kAzureKey);
  EXPECT_FALSE(headers.contains("authorization"));
  EXPECT_EQ(json::parse(sent.at("body").as_string()).at("model").as_string(), "prod-4o");
}

TEST_F(AzureGatewayTest, AStreamPassesThroughWithItsAnnotationOnlyFirstChunk) {
  auto r = chat(std::string(R"({"model":"gpt-4o","stream":true,)") + kMessages + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = sse_data(r.body);
  ASSERT_GE(events.size(), 3u) << r.body;
  // The first chunk has empty id, model and object and no choices, as Azure sends it.
  auto first = json::parse(events.front()).as_object();
  EXPECT_EQ(first.at("id").as_string(), "");
  EXPECT_TRUE(first.at("choices").as_array().empty());
  EXPECT_TRUE(first.contains("prompt_filter_results"));
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text, finish;
  for (size_t i = 1; i + 1 < events.size(); ++i) {
    auto chunk = json::parse(events[i]).as_object();
    const auto& choices = chunk.at("choices").as_array();
    if (choices.empty()) continue;
    EXPECT_TRUE(choices[0].as_object().contains("content_filter_results")) << events[i];
    const auto& delta = choices[0].at("delta").as_object();
    if (auto* c = delta.if_contains("content"); c && c->is_string()) text += c->as_string();
    if (auto* f = choices[0].as_object().if_contains("finish_reason"); f && f->is_string()) finish = f->as_string();
  }
  auto plain = json::parse(chat(std::string(R"({"model":"gpt-4o",)") + kMessages + "}").body);
  EXPECT_EQ(text, plain.at("choices").at(0).at("message").at("content").as_string());
  EXPECT_EQ(finish, "stop");
}

TEST_F(AzureGatewayTest, ApiVersionV1UsesTheOpenAIV1PathWithTheDeploymentAsModel) {
  auto r = chat(std::string(R"({"model":"gpt-4o-mini",)") + kMessages + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), "/openai/v1/chat/completions");
  EXPECT_EQ(json::parse(sent.at("body").as_string()).at("model").as_string(), "mini-prod");
  EXPECT_EQ(sent.at("headers").at("api-key").as_string(), kAzureKey);
}

TEST_F(AzureGatewayTest, EmbeddingsGoToTheirDeployment) {
  auto r = http_post(gateway_->url("/v1/embeddings"), R"({"model":"embed","input":"hello"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(last_upstream_request().at("target").as_string(),
            "/openai/deployments/embed-3-small/embeddings?api-version=2024-10-21");
}

TEST_F(AzureGatewayTest, AContentFilterRefusalIsTheAnswerInOpenAIsShapeNamingTheCategory) {
  // Pass-through: the fake's knob travels in the body.
  auto r = chat(std::string(R"({"model":"gpt-4o","fake":{"error_code":"content_filter"},)") + kMessages + "}");
  ASSERT_EQ(r.status, 400) << r.body;
  auto e = json::parse(r.body).at("error").as_object();
  EXPECT_EQ(e.at("code").as_string(), "content_filter");
  EXPECT_EQ(e.at("type").as_string(), "invalid_request_error");
  EXPECT_NE(std::string(e.at("message").as_string()).find("hate (high)"), std::string::npos) << r.body;
  EXPECT_EQ(r.header("x-llmux-attempts").substr(0, 1), "1");
}

}  // namespace
}  // namespace llmux::test
