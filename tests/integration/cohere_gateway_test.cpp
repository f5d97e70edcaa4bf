// End-to-end: OpenAI clients through the real llmux to the real fake provider speaking Cohere's v2
// API (/v2/chat with its typed SSE events, /v2/embed). What the gateway answers is compared with
// what the same fake answers on its OpenAI endpoint for the same conversation (the fake gives both
// the same text and token counts).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"
#include "openai_stream.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

constexpr const char* kUpstreamKey = "co-upstream-secret-7788";

const char* kTools = R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now",
  "parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},
  "required":["city"]}}}])";

// The translated request carries what Cohere reads plus the provider's default params, so the
// fake's per-request knobs (a "fake" object) come from each provider's default_params.
std::string misbehaving_providers(const std::string& base_url) {
  const std::pair<const char*, const char*> knobs[] = {
      {"cohere-limited", R"({status: 429, retry_after: "7"})"},
      {"cohere-stream-error", "{chunks: 3, stream_error: true}"},
      {"cohere-truncated", "{chunks: 5, truncate_after_chunks: 2}"},
      {"cohere-malformed", "{malformed: true}"},
  };
  std::string yaml;
  for (const auto& [id, fake] : knobs) {
    yaml += std::string("  ") + id + ":\n    type: cohere\n    base_url: " + base_url + "\n    api_key: " + kUpstreamKey +
            "\n    max_retries: 0\n    models: [fake-model]\n    default_params: {fake: " + fake + "}\n";
  }
  return yaml;
}

class CohereGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(start_fake({"--require-key", kUpstreamKey}));
    // The fake serves Cohere under /cohere; a /v2 written after the root is read as the root.
    const std::string base = "http://127.0.0.1:" + std::to_string(fake_->port) + "/cohere/v2";
    gateway_ = new Gateway(start_gateway(R"(
providers:
  local:
    type: cohere
    base_url: )" + base + R"(
    api_key: )" + kUpstreamKey + R"(
    timeout: 2s
    max_retries: 0
    default_params: {safety_mode: CONTEXTUAL}
    models:
      - id: fake-model
        aliases: [llama]
      - not-pulled
)" + misbehaving_providers(base)));
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
  // The newest request the fake got on a Cohere endpoint.
  static json::object last_upstream_request() {
    auto log = json::parse(http_get("http://127.0.0.1:" + std::to_string(fake_->port) + "/_fake/requests").body).as_array();
    for (auto it = log.rbegin(); it != log.rend(); ++it)
      if (std::string_view(it->at("target").as_string()).starts_with("/cohere/")) return it->as_object();
    ADD_FAILURE() << "no request reached /cohere/";
    return {};
  }

  static FakeProvider* fake_;
  static Gateway* gateway_;
};
FakeProvider* CohereGatewayTest::fake_ = nullptr;
Gateway* CohereGatewayTest::gateway_ = nullptr;

const char* kConversation = R"("messages":[{"role":"system","content":"Answer briefly."},{"role":"user","content":"hello cohere \"quoted\" \u00e9"}])";

TEST_F(CohereGatewayTest, ChatCompletionIsTranslatedBothWays) {
  auto r = chat(std::string(R"({"model":"llama","temperature":0.3,)") + kConversation + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v.at("object").as_string(), "chat.completion");
  EXPECT_EQ(v.at("model").as_string(), "fake-model");
  EXPECT_EQ(std::string(v.at("id").as_string()), "e7592632-1e3d-424f-b129-bd5f9f980f7b") << r.body;  // its own id
  const auto& choice = v.at("choices").at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason").as_string(), "stop");
  auto want = openai_answer(std::string(R"({"model":"fake-model",)") + kConversation + "}");
  EXPECT_EQ(choice.at("message").at("content"), want.at("choices").at(0).at("message").at("content"));
  EXPECT_EQ(v.at("usage").at("prompt_tokens"), want.at("usage").at("prompt_tokens"));
  EXPECT_EQ(v.at("usage").at("completion_tokens"), want.at("usage").at("completion_tokens"));

  auto sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), "/cohere/v2/chat");
  EXPECT_EQ(sent.at("headers").at("authorization").as_string(), std::string("Bearer ") + kUpstreamKey);
  auto upstream = json::parse(sent.at("body").as_string()).as_object();
  EXPECT_EQ(upstream.at("stream"), false);
  EXPECT_EQ(upstream.at("messages").at(0).at("role").as_string(), "system");
  EXPECT_EQ(upstream.at("temperature").as_double(), 0.3);
  EXPECT_EQ(upstream.at("safety_mode").as_string(), "CONTEXTUAL");
}

TEST_F(CohereGatewayTest, TypedEventStreamIsTranslatedToOpenAIChunks) {
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
  EXPECT_EQ(json::parse(last_upstream_request().at("body").as_string()).at("stream"), true);
}

TEST_F(CohereGatewayTest, ToolCallsAndToolResultsRoundTrip) {
  std::string ask = std::string(R"({"model":"fake-model","messages":[{"role":"user","content":"Weather in Oslo?"}],)") + kTools;
  auto r = chat(ask + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  const auto& choice = v.at("choices").at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason").as_string(), "tool_calls");
  const auto& call = choice.at("message").at("tool_calls").at(0).as_object();
  EXPECT_EQ(call.at("id").as_string(), "get_weather_dqgshstja6p9");  // Cohere's own id
  EXPECT_FALSE(choice.at("message").at("reasoning_content").as_string().empty());  // the tool plan
  EXPECT_EQ(call.at("function").at("name").as_string(), "get_weather");
  auto arguments = json::parse(call.at("function").at("arguments").as_string());
  EXPECT_TRUE(arguments.at("city").is_string());

  auto streamed = read_stream(chat(ask + R"(,"stream":true})").body);
  EXPECT_TRUE(streamed.done);
  EXPECT_EQ(streamed.finish, "tool_calls");
  ASSERT_EQ(streamed.calls.size(), 1u);
  EXPECT_EQ(streamed.calls[0].id, "get_weather_dqgshstja6p9");
  EXPECT_EQ(json::parse(streamed.calls[0].arguments), arguments);

  // The follow-up turn: the call goes back with its arguments as an object, the result by name.
  auto follow_up = chat(std::string(R"({"model":"fake-model","messages":[{"role":"user","content":"Weather in Oslo?"},)") +
                        R"({"role":"assistant","content":null,"tool_calls":[{"id":"get_weather_dqgshstja6p9","type":"function",)" +
                        R"("function":{"name":"get_weather","arguments":)" +
                        json::serialize(json::string(call.at("function").at("arguments").as_string())) + R"(}}]},)" +
                        R"({"role":"tool","tool_call_id":"get_weather_dqgshstja6p9","content":"-3C, snow"}],)" + kTools + "}");
  ASSERT_EQ(follow_up.status, 200) << follow_up.body;
  EXPECT_EQ(json::parse(follow_up.body).at("choices").at(0).at("finish_reason").as_string(), "stop");
  auto upstream = json::parse(last_upstream_request().at("body").as_string()).as_object();
  const auto& messages = upstream.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(json::parse(messages[1].at("tool_calls").at(0).at("function").at("arguments").as_string()), arguments);
  EXPECT_EQ(messages[2].at("role").as_string(), "tool");
  EXPECT_EQ(messages[2].at("tool_call_id").as_string(), "get_weather_dqgshstja6p9");
}

TEST_F(CohereGatewayTest, EmbeddingsAreTranslatedToOpenAIsList) {
  auto r = http_post(gateway_->url("/v1/embeddings"), R"({"model":"local/fake-model","input":["one","two words"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v.at("object").as_string(), "list");
  ASSERT_EQ(v.at("data").as_array().size(), 2u);
  EXPECT_EQ(v.at("data").at(1).at("index").as_int64(), 1);
  EXPECT_EQ(v.at("data").at(0).at("embedding").as_array().size(), 2u);
  EXPECT_GT(v.at("usage").at("prompt_tokens").as_int64(), 0);
  auto sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), "/cohere/v2/embed");
  auto embed = json::parse(sent.at("body").as_string());
  EXPECT_EQ(embed.at("texts").as_array().size(), 2u);
  EXPECT_EQ(embed.at("input_type").as_string(), "search_document");
}

TEST_F(CohereGatewayTest, UpstreamErrorsArriveInOpenAIShapeWithTheirStatus) {
  auto limited = chat(R"({"model":"cohere-limited/fake-model","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("retry-after"), "7");
  auto e = json::parse(limited.body).at("error").as_object();
  EXPECT_NE(std::string(e.at("message").as_string()).find("provider 'cohere-limited'"), std::string::npos);
  EXPECT_EQ(limited.body.find(kUpstreamKey), std::string::npos);

  // Configured in llmux but unknown to the API: Cohere's own 404 and message.
  auto unknown = chat(R"({"model":"local/not-pulled","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_NE(unknown.body.find("make sure the correct model ID was used"), std::string::npos) << unknown.body;
}

TEST_F(CohereGatewayTest, AnErrorFinishMidStreamBecomesAnOpenAIErrorEvent) {
  auto r = chat(R"({"model":"cohere-stream-error/fake-model","stream":true,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(r.status, 200);
  auto s = read_stream(r.body);
  EXPECT_FALSE(s.done);
  ASSERT_FALSE(s.error.empty()) << r.body;
  EXPECT_EQ(s.error.at("message").as_string(), "the provider failed generating the answer");
  EXPECT_FALSE(s.text.empty());
}

TEST_F(CohereGatewayTest, AStreamCutShortEndsWithAnErrorEvent) {
  auto r = chat(R"({"model":"cohere-truncated/fake-model","stream":true,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(r.status, 200);
  auto s = read_stream(r.body);
  EXPECT_FALSE(s.done);
  EXPECT_FALSE(s.text.empty());
  ASSERT_FALSE(s.error.empty()) << r.body;
}

TEST_F(CohereGatewayTest, MalformedUpstreamAnswersAre502) {
  auto r = chat(R"({"model":"cohere-malformed/fake-model","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(json::parse(r.body).at("error").at("code").as_string(), "upstream_malformed_response");
  // In a stream the broken event comes before any content: another deployment could answer.
  auto s = chat(R"({"model":"cohere-malformed/fake-model","stream":true,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(s.status, 502) << s.body;
}

TEST_F(CohereGatewayTest, WhatCohereCannotDoIsRefusedBeforeAnyUpstreamCall) {
  auto completions = http_post(gateway_->url("/v1/completions"), R"({"model":"local/fake-model","prompt":"x"})");
  EXPECT_EQ(completions.status, 501) << completions.body;
  auto n = chat(R"({"model":"fake-model","n":3,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(n.status, 400);
  EXPECT_EQ(json::parse(n.body).at("error").at("param").as_string(), "n");
}

}  // namespace
}  // namespace llmux::test
