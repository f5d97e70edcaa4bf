// End-to-end: OpenAI clients through the real llmux to the real fake provider speaking Gemini's
// GenerateContent API. What the gateway answers is compared with what the same fake answers on
// its OpenAI endpoint for the same conversation (the fake gives both the same text and token counts).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"
#include "openai_stream.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

constexpr const char* kUpstreamKey = "AIza-upstream-secret-9012";

const char* kTools = R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now",
  "parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},
  "required":["city"]}}}])";

// The translated request carries only what Gemini accepts, so the fake's per-request knobs (a
// "fake" object) come from each provider's default_params: one provider per misbehaviour.
std::string misbehaving_providers(const std::string& base_url) {
  const std::pair<const char*, const char*> knobs[] = {
      {"gemini-limited", R"({status: 429, retry_after: "7"})"},
      {"gemini-unavailable", "{status: 503}"},
      {"gemini-stream-error", "{chunks: 3, stream_error: true}"},
      {"gemini-truncated", "{chunks: 5, truncate_after_chunks: 2}"},
      {"gemini-malformed", "{malformed: true}"},
  };
  std::string yaml;
  for (const auto& [id, fake] : knobs) {
    yaml += std::string("  ") + id + ":\n    type: gemini\n    base_url: " + base_url +
            "\n    api_key: " + kUpstreamKey + "\n    max_retries: 0\n    models: [fake-model]\n" +
            "    default_params: {fake: " + fake + "}\n";
  }
  return yaml;
}

class GeminiGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(start_fake({"--require-key", kUpstreamKey}));
    // The fake serves Gemini under /v1beta beside OpenAI's /v1.
    gemini_url_ = "http://127.0.0.1:" + std::to_string(fake_->port) + "/v1beta";
    gateway_ = new Gateway(start_gateway(R"(
providers:
  gem:
    type: gemini
    base_url: )" + gemini_url_ + R"(
    api_key: )" + kUpstreamKey + R"(
    timeout: 2s
    max_retries: 0
    models:
      - id: fake-model
        aliases: [flash]
)" + misbehaving_providers(gemini_url_)));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }

  static HttpResponse chat(const std::string& body) { return http_post(gateway_->url("/v1/chat/completions"), body); }
  static json::object openai_answer(const std::string& body) {
    auto r = http_post(fake_->base_url() + "/chat/completions", body,
                       {"Content-Type: application/json", std::string("Authorization: Bearer ") + kUpstreamKey});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();
  }
  // The newest request the fake got on a Gemini endpoint.
  static json::object last_upstream_request() {
    auto log = json::parse(http_get("http://127.0.0.1:" + std::to_string(fake_->port) + "/_fake/requests").body).as_array();
    for (auto it = log.rbegin(); it != log.rend(); ++it)
      if (std::string_view(it->at("target").as_string()).starts_with("/v1beta/models/")) return it->as_object();
    ADD_FAILURE() << "no request reached /v1beta/models/";
    return {};
  }

  static FakeProvider* fake_;
  static Gateway* gateway_;
  static std::string gemini_url_;
};
FakeProvider* GeminiGatewayTest::fake_ = nullptr;
Gateway* GeminiGatewayTest::gateway_ = nullptr;
std::string GeminiGatewayTest::gemini_url_;

const char* kConversation = R"("messages":[{"role":"system","content":"Answer briefly."},{"role":"user","content":"hello gemini \"quoted\" \u00e9"}])";

TEST_F(GeminiGatewayTest, ChatCompletionIsTranslatedBothWays) {
  auto r = chat(std::string(R"({"model":"flash",)") + kConversation + "}");
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
  EXPECT_EQ(sent.at("target").as_string(), "/v1beta/models/fake-model:generateContent");
  const auto& headers = sent.at("headers").as_object();
  EXPECT_EQ(headers.at("x-goog-api-key").as_string(), kUpstreamKey);
  EXPECT_FALSE(headers.contains("authorization"));
  auto upstream = json::parse(sent.at("body").as_string()).as_object();
  EXPECT_EQ(upstream.at("systemInstruction").at("parts").at(0).at("text").as_string(), "Answer briefly.");
  EXPECT_EQ(upstream.at("contents").as_array().size(), 1u);
}

TEST_F(GeminiGatewayTest, StreamIsTranslatedToOpenAIChunks) {
  auto r = chat(std::string(R"({"model":"fake-model","stream":true,"stream_options":{"include_usage":true},)") +
                kConversation + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto s = read_stream(r.body);
  EXPECT_TRUE(s.done) << r.body;
  EXPECT_TRUE(s.error.empty());
  EXPECT_EQ(s.finish, "stop");
  auto want = openai_answer(std::string(R"({"model":"fake-model",)") + kConversation + "}");
  EXPECT_EQ(s.text, want.at("choices").at(0).at("message").at("content").as_string());
  ASSERT_FALSE(s.usage.empty());
  EXPECT_EQ(s.usage.at("prompt_tokens"), want.at("usage").at("prompt_tokens"));
  EXPECT_EQ(s.usage.at("completion_tokens"), want.at("usage").at("completion_tokens"));
  EXPECT_EQ(last_upstream_request().at("target").as_string(), "/v1beta/models/fake-model:streamGenerateContent?alt=sse");
}

TEST_F(GeminiGatewayTest, ToolCallsAndToolResultsRoundTrip) {
  std::string ask = std::string(R"({"model":"fake-model","messages":[{"role":"user","content":"Weather in Oslo?"}],)") + kTools;
  auto r = chat(ask + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  const auto& choice = v.at("choices").at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason").as_string(), "tool_calls");
  const auto& call = choice.at("message").at("tool_calls").at(0).as_object();
  EXPECT_EQ(call.at("function").at("name").as_string(), "get_weather");
  auto arguments = json::parse(call.at("function").at("arguments").as_string());
  EXPECT_TRUE(arguments.at("city").is_string());
  EXPECT_EQ(arguments.at("unit").as_string(), "celsius");
  std::string id(call.at("id").as_string());
  EXPECT_EQ(id, "gemini_0_ZmFrZS1zaWduYXR1cmU=");  // the fake's thought signature rides in the id

  auto streamed = read_stream(chat(ask + R"(,"stream":true})").body);
  EXPECT_TRUE(streamed.done);
  EXPECT_EQ(streamed.finish, "tool_calls");
  ASSERT_EQ(streamed.calls.size(), 1u);
  EXPECT_EQ(streamed.calls[0].id, id);
  EXPECT_EQ(json::parse(streamed.calls[0].arguments), arguments);

  // The follow-up turn: the call goes back with its signature, the result by the function's name.
  auto follow_up = chat(std::string(R"({"model":"fake-model","messages":[{"role":"user","content":"Weather in Oslo?"},)") +
                        R"({"role":"assistant","content":null,"tool_calls":[{"id":")" + id +
                        R"(","type":"function","function":{"name":"get_weather","arguments":)" +
                        json::serialize(json::string(call.at("function").at("arguments").as_string())) + R"(}}]},)" +
                        R"({"role":"tool","tool_call_id":")" + id + R"(","content":"-3C, snow"}],)" + kTools + "}");
  ASSERT_EQ(follow_up.status, 200) << follow_up.body;
  EXPECT_EQ(json::parse(follow_up.body).at("choices").at(0).at("finish_reason").as_string(), "stop");
  auto upstream = json::parse(last_upstream_request().at("body").as_string()).as_object();
  const auto& contents = upstream.at("contents").as_array();
  ASSERT_EQ(contents.size(), 3u);
  EXPECT_EQ(contents[1].at("role").as_string(), "model");
  EXPECT_EQ(contents[1].at("parts").at(0).at("functionCall").at("args"), arguments);
  EXPECT_EQ(contents[1].at("parts").at(0).at("thoughtSignature").as_string(), "ZmFrZS1zaWduYXR1cmU=");
  EXPECT_EQ(contents[2].at("parts").at(0).at("functionResponse").at("name").as_string(), "get_weather");
  EXPECT_EQ(contents[2].at("parts").at(0).at("functionResponse").at("response").at("result").as_string(), "-3C, snow");
}

TEST_F(GeminiGatewayTest, UpstreamErrorsArriveInOpenAIShapeWithTheirStatus) {
  auto limited = chat(R"({"model":"gemini-limited/fake-model","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("retry-after"), "7");
  auto e = json::parse(limited.body).at("error").as_object();
  EXPECT_EQ(e.at("type").as_string(), "rate_limit_error");
  EXPECT_EQ(e.at("code").as_string(), "RESOURCE_EXHAUSTED");
  EXPECT_NE(std::string(e.at("message").as_string()).find("provider 'gemini-limited'"), std::string::npos);

  auto unavailable = chat(R"({"model":"gemini-unavailable/fake-model","stream":true,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(json::parse(unavailable.body).at("error").at("code").as_string(), "UNAVAILABLE");
  EXPECT_EQ(unavailable.body.find(kUpstreamKey), std::string::npos);

  auto unknown = chat(R"({"model":"gem/no-such-model","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
}

TEST_F(GeminiGatewayTest, MidStreamErrorObjectBecomesAnOpenAIErrorEvent) {
  auto r = chat(R"({"model":"gemini-stream-error/fake-model","stream":true,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(r.status, 200);
  auto s = read_stream(r.body);
  EXPECT_FALSE(s.done);
  ASSERT_FALSE(s.error.empty()) << r.body;
  EXPECT_EQ(s.error.at("type").as_string(), "upstream_error");
  EXPECT_EQ(s.error.at("message").as_string(), "The model is overloaded. Please try again later.");
  EXPECT_FALSE(s.text.empty());
}

TEST_F(GeminiGatewayTest, StreamCutShortEndsWithAnErrorEvent) {
  auto r = chat(R"({"model":"gemini-truncated/fake-model","stream":true,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(r.status, 200);
  auto s = read_stream(r.body);
  EXPECT_FALSE(s.done);
  EXPECT_FALSE(s.text.empty());
  ASSERT_FALSE(s.error.empty()) << r.body;
}

TEST_F(GeminiGatewayTest, MalformedUpstreamBodyIs502) {
  auto r = chat(R"({"model":"gemini-malformed/fake-model","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(json::parse(r.body).at("error").at("code").as_string(), "upstream_malformed_response");
}

TEST_F(GeminiGatewayTest, WhatGeminiCannotDoIsRefusedBeforeAnyUpstreamCall) {
  auto embeddings = http_post(gateway_->url("/v1/embeddings"), R"({"model":"gem/fake-model","input":"x"})");
  EXPECT_EQ(embeddings.status, 501) << embeddings.body;
  auto n = chat(R"({"model":"fake-model","n":3,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(n.status, 400);
  EXPECT_EQ(json::parse(n.body).at("error").at("param").as_string(), "n");
}

}  // namespace
}  // namespace llmux::test
