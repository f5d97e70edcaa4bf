// End-to-end: OpenAI clients through the real llmux to the real fake provider speaking Bedrock's
// Converse API (/model/{id}/converse, and /converse-stream in AWS's binary event-stream framing).
// Every request is SigV4-signed; the fake recomputes the signature with the secret it was given
// (--require-key) over the bytes it received. What the gateway answers is compared with what the
// same fake answers on its OpenAI endpoint for the same conversation.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "cli_harness.hpp"
#include "harness.hpp"
#include "openai_stream.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

// AWS's documented example credentials: the fake checks signatures made with them.
constexpr const char* kAccessKeyId = "AKIDEXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

const char* kTools = R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now",
  "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])";

std::string bedrock_provider(const std::string& id, const std::string& base, const std::string& extra,
                             const std::string& secret = kSecret) {
  return "  " + id + ":\n    type: aws-bedrock\n    base_url: " + base + "\n    region: us-west-2\n    accessKeyId: " +
         kAccessKeyId + "\n    secretAccessKey: " + secret + "\n    max_retries: 0\n    timeout: 2s\n" + extra;
}

class BedrockGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(
        start_fake({"--require-key", kSecret, "--models", "fake-model,us.fake.model-v1:0,arn:aws:bedrock:us-west-2:1:inference-profile/us.fake-v2:0"}));
    const std::string base = "http://127.0.0.1:" + std::to_string(fake_->port) + "/bedrock";
    const std::string models =
        "    models: [fake-model, \"us.fake.model-v1:0\", \"arn:aws:bedrock:us-west-2:1:inference-profile/us.fake-v2:0\", not-there]\n";
    gateway_ = new Gateway(start_gateway(
        "providers:\n" + bedrock_provider("local", base, models + "    sessionToken: session-token-abc123\n") +
        bedrock_provider("limited", base, models + "    default_params: {fake: {status: 429}}\n") +
        bedrock_provider("fails-late", base, models + "    default_params: {fake: {chunks: 3, stream_error: true}}\n") +
        bedrock_provider("fails-early", base, models + "    default_params: {fake: {chunks: 0, stream_error: true}}\n") +
        bedrock_provider("wrong-secret", base, models, "not-the-secret-key-0000000000") +
        "  backup:\n    base_url: " + fake_->base_url() + "\n    api_key: " + kSecret + "\n    models: [fake-model]\n" +
        "models:\n  resilient:\n    deployments:\n"
        "      - {provider: fails-early, model: fake-model, priority: 1}\n"
        "      - {provider: backup, model: fake-model, priority: 2}\n"));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }

  static HttpResponse chat(const std::string& body) { return http_post(gateway_->url("/v1/chat/completions"), body); }
  static json::object openai_answer(const std::string& body) {
    auto r = http_post(fake_->base_url() + "/chat/completions", body,
                       {"Content-Type: application/json", std::string("Authorization: Bearer ") + kSecret});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();
  }
  // The newest request the fake got on a Bedrock endpoint.
  static json::object last_upstream_request() {
    auto log = json::parse(http_get("http://127.0.0.1:" + std::to_string(fake_->port) + "/_fake/requests").body).as_array();
    for (auto it = log.rbegin(); it != log.rend(); ++it)
      if (std::string_view(it->at("target").as_string()).starts_with("/bedrock/")) return it->as_object();
    ADD_FAILURE() << "no request reached /bedrock/";
    return {};
  }

  static FakeProvider* fake_;
  static Gateway* gateway_;
};
FakeProvider* BedrockGatewayTest::fake_ = nullptr;
Gateway* BedrockGatewayTest::gateway_ = nullptr;

const char* kConversation =
    R"("messages":[{"role":"system","content":"Answer briefly."},{"role":"user","content":"hello bedrock \"quoted\" \u00e9"}])";

TEST_F(BedrockGatewayTest, SignedConverseIsTranslatedBothWays) {
  auto r = chat(std::string(R"({"model":"local/fake-model","temperature":0.3,"max_tokens":64,)") + kConversation + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v.at("object").as_string(), "chat.completion");
  EXPECT_EQ(v.at("model").as_string(), "fake-model");
  const auto& choice = v.at("choices").at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason").as_string(), "stop");
  auto want = openai_answer(std::string(R"({"model":"fake-model",)") + kConversation + "}");
  EXPECT_EQ(choice.at("message").at("content"), want.at("choices").at(0).at("message").at("content"));
  EXPECT_EQ(v.at("usage").at("prompt_tokens"), want.at("usage").at("prompt_tokens"));
  EXPECT_EQ(v.at("usage").at("completion_tokens"), want.at("usage").at("completion_tokens"));

  auto sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), "/bedrock/model/fake-model/converse");
  const auto& headers = sent.at("headers").as_object();
  std::string auth(headers.at("authorization").as_string());
  EXPECT_TRUE(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")) << auth;
  EXPECT_NE(auth.find("/us-west-2/bedrock/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, "),
            std::string::npos)
      << auth;
  EXPECT_EQ(headers.at("x-amz-security-token").as_string(), "session-token-abc123");
  auto upstream = json::parse(sent.at("body").as_string()).as_object();
  EXPECT_EQ(upstream.at("system").at(0).at("text").as_string(), "Answer briefly.");
  EXPECT_EQ(upstream.at("inferenceConfig").at("temperature").as_double(), 0.3);
  EXPECT_EQ(upstream.at("inferenceConfig").at("maxTokens").as_int64(), 64);
}

TEST_F(BedrockGatewayTest, EventStreamIsTranslatedToOpenAIChunks) {
  auto r = chat(std::string(R"({"model":"local/fake-model","stream":true,"stream_options":{"include_usage":true},)") +
                kConversation + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto s = read_stream(r.body);
  EXPECT_TRUE(s.done) << r.body;
  EXPECT_TRUE(s.error.empty()) << r.body;
  EXPECT_EQ(s.finish, "stop");
  auto want = openai_answer(std::string(R"({"model":"fake-model",)") + kConversation + "}");
  EXPECT_EQ(s.text, want.at("choices").at(0).at("message").at("content").as_string());
  ASSERT_FALSE(s.usage.empty());
  EXPECT_EQ(s.usage.at("prompt_tokens"), want.at("usage").at("prompt_tokens"));
  EXPECT_EQ(s.usage.at("completion_tokens"), want.at("usage").at("completion_tokens"));
  auto sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), "/bedrock/model/fake-model/converse-stream");
  EXPECT_EQ(sent.at("headers").at("accept").as_string(), "application/vnd.amazon.eventstream");
}

TEST_F(BedrockGatewayTest, ModelIdsWithPrefixesAndColonsAreOnePathSegment) {
  auto r = chat(R"({"model":"local/us.fake.model-v1:0","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(last_upstream_request().at("target").as_string(), "/bedrock/model/us.fake.model-v1%3A0/converse");
  r = chat(R"({"model":"local/arn:aws:bedrock:us-west-2:1:inference-profile/us.fake-v2:0","stream":true,)"
           R"("messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(read_stream(r.body).done) << r.body;
  EXPECT_EQ(last_upstream_request().at("target").as_string(),
            "/bedrock/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A1%3Ainference-profile%2Fus.fake-v2%3A0/converse-stream");
}

TEST_F(BedrockGatewayTest, ToolUseAndToolResultsRoundTrip) {
  std::string ask = std::string(R"({"model":"local/fake-model","messages":[{"role":"user","content":"Weather in Oslo?"}],)") + kTools;
  auto r = chat(ask + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  const auto& choice = v.at("choices").at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason").as_string(), "tool_calls");
  const auto& call = choice.at("message").at("tool_calls").at(0).as_object();
  EXPECT_EQ(call.at("id").as_string(), "tooluse_get_weather_kRq2pVx8");  // Bedrock's own id
  EXPECT_EQ(call.at("function").at("name").as_string(), "get_weather");
  auto arguments = json::parse(call.at("function").at("arguments").as_string());
  EXPECT_TRUE(arguments.at("city").is_string());
  auto upstream = json::parse(last_upstream_request().at("body").as_string()).as_object();
  EXPECT_EQ(upstream.at("toolConfig").at("tools").at(0).at("toolSpec").at("name").as_string(), "get_weather");

  auto streamed = read_stream(chat(ask + R"(,"stream":true})").body);
  EXPECT_TRUE(streamed.done);
  EXPECT_EQ(streamed.finish, "tool_calls");
  ASSERT_EQ(streamed.calls.size(), 1u);
  EXPECT_EQ(streamed.calls[0].id, "tooluse_get_weather_kRq2pVx8");
  EXPECT_EQ(json::parse(streamed.calls[0].arguments), arguments);

  // The follow-up turn: toolUse with the arguments as an object, the result as a toolResult block.
  auto follow_up = chat(std::string(R"({"model":"local/fake-model","messages":[{"role":"user","content":"Weather in Oslo?"},)") +
                        R"({"role":"assistant","content":null,"tool_calls":[{"id":"tooluse_get_weather_kRq2pVx8","type":"function",)" +
                        R"("function":{"name":"get_weather","arguments":)" +
                        json::serialize(json::string(call.at("function").at("arguments").as_string())) + R"(}}]},)" +
                        R"({"role":"tool","tool_call_id":"tooluse_get_weather_kRq2pVx8","content":"-3C, snow"}],)" + kTools + "}");
  ASSERT_EQ(follow_up.status, 200) << follow_up.body;
  EXPECT_EQ(json::parse(follow_up.body).at("choices").at(0).at("finish_reason").as_string(), "stop");
  upstream = json::parse(last_upstream_request().at("body").as_string()).as_object();
  const auto& messages = upstream.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1].at("content").at(0).at("toolUse").at("input"), arguments);
  EXPECT_EQ(messages[2].at("content").at(0).at("toolResult").at("toolUseId").as_string(), "tooluse_get_weather_kRq2pVx8");
}

TEST_F(BedrockGatewayTest, UpstreamErrorsArriveInOpenAIShapeWithTheirStatus) {
  auto limited = chat(R"({"model":"limited/fake-model","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(limited.status, 429) << limited.body;
  auto e = json::parse(limited.body).at("error").as_object();
  EXPECT_EQ(e.at("type").as_string(), "rate_limit_error");
  EXPECT_NE(std::string(e.at("message").as_string()).find("provider 'limited'"), std::string::npos);

  // A model id the runtime does not know: Bedrock's own 400 and message, before any stream.
  auto unknown = chat(R"({"model":"local/not-there","stream":true,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_NE(unknown.body.find("The provided model identifier is invalid."), std::string::npos) << unknown.body;
}

TEST_F(BedrockGatewayTest, ABadSignatureIsRefusedAndTheSecretNeverShows) {
  auto r = chat(R"({"model":"wrong-secret/fake-model","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("signature we calculated does not match"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("not-the-secret-key"), std::string::npos);
}

TEST_F(BedrockGatewayTest, AnExceptionMidStreamBecomesAnOpenAIErrorEvent) {
  auto r = chat(R"({"model":"fails-late/fake-model","stream":true,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(r.status, 200);
  auto s = read_stream(r.body);
  EXPECT_FALSE(s.done);
  EXPECT_FALSE(s.text.empty());
  ASSERT_FALSE(s.error.empty()) << r.body;
  EXPECT_EQ(s.error.at("message").as_string(), "modelStreamErrorException: Model Stream Error");
}

TEST_F(BedrockGatewayTest, AnExceptionBeforeTheFirstByteFallsBackToTheNextDeployment) {
  auto r = chat(R"({"model":"resilient","stream":true,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto s = read_stream(r.body);
  EXPECT_TRUE(s.done) << r.body;
  EXPECT_TRUE(s.error.empty()) << r.body;
  EXPECT_FALSE(s.text.empty());
  EXPECT_EQ(r.header("x-llmux-provider"), "backup");
}

TEST_F(BedrockGatewayTest, WhatConverseCannotExpressIsRefusedBeforeAnyUpstreamCall) {
  auto embeddings = http_post(gateway_->url("/v1/embeddings"), R"({"model":"local/fake-model","input":"x"})");
  EXPECT_EQ(embeddings.status, 501) << embeddings.body;
  auto seed = chat(R"({"model":"local/fake-model","seed":7,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(seed.status, 400);
  EXPECT_EQ(json::parse(seed.body).at("error").at("param").as_string(), "seed");
}

TEST(BedrockCli, ProviderTestPassesAgainstTheFakeBedrock) {
  auto fake = start_fake({"--require-key", kSecret});
  Sandbox box;
  box.extra_env = {std::string("AWS_ACCESS_KEY_ID=") + kAccessKeyId, std::string("AWS_SECRET_ACCESS_KEY=") + kSecret};
  write_text(box.store_file(), "providers:\n  br:\n    type: aws-bedrock\n    base_url: http://127.0.0.1:" +
                                   std::to_string(fake.port) + "/bedrock\n    region: us-east-1\n    models: [fake-model]\n");
  auto r = box.run({"provider", "test", "br", "--json"});
  ASSERT_EQ(r.exit, 0) << r.all();
  auto v = json::parse(r.out);
  EXPECT_EQ(v.at("passed"), true) << r.out;
  for (const auto& c : v.at("checks").as_array()) EXPECT_EQ(c.at("result"), "pass") << json::serialize(c);
}

}  // namespace
}  // namespace llmux::test
