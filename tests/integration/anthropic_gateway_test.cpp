// End-to-end: OpenAI clients through the real llmux to the real fake provider speaking Anthropic's
// Messages API. What the gateway answers is compared with what the same fake answers on its OpenAI
// endpoint for the same conversation (the fake gives both the same text and token counts).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"
#include "openai_stream.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

constexpr const char* kUpstreamKey = "sk-ant-upstream-secret-5678";

const char* kTools = R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now",
  "parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},
  "required":["city"]}}}])";

// The translated request carries only what Anthropic accepts, so the fake's per-request knobs (a
// "fake" object) come from each provider's default_params: one provider per misbehaviour, all on
// the same fake.
std::string misbehaving_providers(const std::string& base_url) {
  const std::pair<const char*, const char*> knobs[] = {
      {"claude-limited", R"({status: 429, retry_after: "7"})"},
      {"claude-overloaded", "{status: 529}"},
      {"claude-stream-error", "{chunks: 3, stream_error: true}"},
      {"claude-truncated", "{chunks: 5, truncate_after_chunks: 2}"},
      {"claude-reset", "{chunks: 5, reset_after_chunks: 2}"},
      {"claude-malformed", "{malformed: true}"},
  };
  std::string yaml;
  for (const auto& [id, fake] : knobs) {
    yaml += std::string("  ") + id + ":\n    type: anthropic\n    base_url: " + base_url +
            "\n    api_key: " + kUpstreamKey + "\n    max_retries: 0\n    models: [fake-model]\n" +
            "    default_params: {fake: " + fake + "}\n";
  }
  return yaml;
}

class AnthropicGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(start_fake({"--require-key", kUpstreamKey}));
    gateway_ = new Gateway(start_gateway(R"(
providers:
  claude:
    type: anthropic
    base_url: )" + fake_->base_url() + R"(
    api_key: )" + kUpstreamKey + R"(
    timeout: 2s
    max_retries: 0
    models:
      - id: fake-model
        aliases: [sonnet]
)" + misbehaving_providers(fake_->base_url())));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }

  static HttpResponse chat(const std::string& body) { return http_post(gateway_->url("/v1/chat/completions"), body); }
  // The same conversation straight to the fake's OpenAI endpoint.
  static json::object openai_answer(const std::string& body) {
    auto r = http_post(fake_->base_url() + "/chat/completions", body,
                       {"Content-Type: application/json", std::string("Authorization: Bearer ") + kUpstreamKey});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();
  }
  // The newest request the fake got on its Anthropic endpoint.
  static json::object last_upstream_request() {
    auto log = json::parse(http_get("http://127.0.0.1:" + std::to_string(fake_->port) + "/_fake/requests").body).as_array();
    for (auto it = log.rbegin(); it != log.rend(); ++it)
      if (it->at("target") == "/v1/messages") return it->as_object();
    ADD_FAILURE() << "no request reached /v1/messages";
    return {};
  }

  static FakeProvider* fake_;
  static Gateway* gateway_;
};
FakeProvider* AnthropicGatewayTest::fake_ = nullptr;
Gateway* AnthropicGatewayTest::gateway_ = nullptr;

const char* kConversation = R"("messages":[{"role":"system","content":"Answer briefly."},{"role":"user","content":"hello claude \"quoted\" \u00e9"}])";

TEST_F(AnthropicGatewayTest, ChatCompletionIsTranslatedBothWays) {
  std::string body = std::string(R"({"model":"sonnet",)") + kConversation + "}";
  auto r = chat(body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v.at("object").as_string(), "chat.completion");
  EXPECT_EQ(v.at("model").as_string(), "fake-model");
  EXPECT_TRUE(std::string(v.at("id").as_string()).starts_with("msg_"));
  const auto& choice = v.at("choices").at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason").as_string(), "stop");
  EXPECT_EQ(choice.at("message").at("role").as_string(), "assistant");

  auto want = openai_answer(std::string(R"({"model":"fake-model",)") + kConversation + "}");
  EXPECT_EQ(choice.at("message").at("content"), want.at("choices").at(0).at("message").at("content"));
  EXPECT_EQ(v.at("usage").at("prompt_tokens"), want.at("usage").at("prompt_tokens"));
  EXPECT_EQ(v.at("usage").at("completion_tokens"), want.at("usage").at("completion_tokens"));

  // What went upstream: Anthropic's endpoint, headers and request shape.
  auto sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), "/v1/messages");
  const auto& headers = sent.at("headers").as_object();
  EXPECT_EQ(headers.at("x-api-key").as_string(), kUpstreamKey);
  EXPECT_EQ(headers.at("anthropic-version").as_string(), "2023-06-01");
  EXPECT_FALSE(headers.contains("authorization"));
  auto upstream_body = json::parse(sent.at("body").as_string()).as_object();
  EXPECT_EQ(upstream_body.at("model").as_string(), "fake-model");
  EXPECT_EQ(upstream_body.at("system").at(0).at("text").as_string(), "Answer briefly.");
  EXPECT_EQ(upstream_body.at("messages").as_array().size(), 1u);
  EXPECT_GT(upstream_body.at("max_tokens").as_int64(), 0);
}

TEST_F(AnthropicGatewayTest, StreamIsTranslatedToOpenAIChunks) {
  auto r = chat(std::string(R"({"model":"fake-model","stream":true,"stream_options":{"include_usage":true},)") +
                kConversation + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto s = read_stream(r.body);
  EXPECT_TRUE(s.done);
  EXPECT_TRUE(s.error.empty());
  EXPECT_EQ(s.role, "assistant");
  EXPECT_EQ(s.finish, "stop");
  auto want = openai_answer(std::string(R"({"model":"fake-model",)") + kConversation + "}");
  EXPECT_EQ(s.text, want.at("choices").at(0).at("message").at("content").as_string());
  ASSERT_FALSE(s.usage.empty());
  EXPECT_EQ(s.usage.at("prompt_tokens"), want.at("usage").at("prompt_tokens"));
  EXPECT_EQ(s.usage.at("completion_tokens"), want.at("usage").at("completion_tokens"));
  EXPECT_EQ(json::parse(last_upstream_request().at("body").as_string()).at("stream"), true);
}

TEST_F(AnthropicGatewayTest, ToolCallsAndToolResultsRoundTrip) {
  std::string ask = std::string(R"({"model":"fake-model","messages":[{"role":"user","content":"Weather in Oslo?"}],)") + kTools;
  auto r = chat(ask + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body).as_object();
  const auto& choice = v.at("choices").at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason").as_string(), "tool_calls");
  const auto& call = choice.at("message").at("tool_calls").at(0).as_object();
  EXPECT_EQ(call.at("type").as_string(), "function");
  EXPECT_EQ(call.at("function").at("name").as_string(), "get_weather");
  auto arguments = json::parse(call.at("function").at("arguments").as_string());
  EXPECT_TRUE(arguments.at("city").is_string());
  EXPECT_EQ(arguments.at("unit").as_string(), "celsius");

  // The same as a stream: the call's pieces join into the same arguments.
  auto streamed = read_stream(chat(ask + R"(,"stream":true})").body);
  EXPECT_TRUE(streamed.done);
  EXPECT_EQ(streamed.finish, "tool_calls");
  ASSERT_EQ(streamed.calls.size(), 1u);
  EXPECT_EQ(streamed.calls[0].name, "get_weather");
  EXPECT_EQ(json::parse(streamed.calls[0].arguments), arguments);
  EXPECT_TRUE(std::string(streamed.calls[0].id).starts_with("toolu_"));

  // The follow-up turn carries the call and its result back; the answer is text again.
  std::string id(call.at("id").as_string());
  auto follow_up = chat(std::string(R"({"model":"fake-model","messages":[{"role":"user","content":"Weather in Oslo?"},)") +
                        R"({"role":"assistant","content":null,"tool_calls":[{"id":")" + id +
                        R"(","type":"function","function":{"name":"get_weather","arguments":)" +
                        json::serialize(json::string(call.at("function").at("arguments").as_string())) + R"(}}]},)" +
                        R"({"role":"tool","tool_call_id":")" + id + R"(","content":"-3C, snow"}],)" + kTools + "}");
  ASSERT_EQ(follow_up.status, 200) << follow_up.body;
  EXPECT_EQ(json::parse(follow_up.body).at("choices").at(0).at("finish_reason").as_string(), "stop");
  auto upstream = json::parse(last_upstream_request().at("body").as_string()).as_object();
  const auto& messages = upstream.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1].at("content").at(0).at("type").as_string(), "tool_use");
  EXPECT_EQ(messages[1].at("content").at(0).at("input"), arguments);
  EXPECT_EQ(messages[2].at("content").at(0).at("type").as_string(), "tool_result");
  EXPECT_EQ(messages[2].at("content").at(0).at("tool_use_id").as_string(), id);
}

TEST_F(AnthropicGatewayTest, UpstreamErrorsArriveInOpenAIShapeWithTheirStatus) {
  auto limited = chat(R"({"model":"claude-limited/fake-model","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("retry-after"), "7");
  auto e = json::parse(limited.body).at("error").as_object();
  EXPECT_EQ(e.at("type").as_string(), "rate_limit_error");
  EXPECT_NE(std::string(e.at("message").as_string()).find("provider 'claude-limited'"), std::string::npos);

  auto overloaded = chat(R"({"model":"claude-overloaded/fake-model","stream":true,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(overloaded.status, 529);
  EXPECT_EQ(json::parse(overloaded.body).at("error").at("type").as_string(), "overloaded_error");
  EXPECT_EQ(overloaded.body.find(kUpstreamKey), std::string::npos);
}

TEST_F(AnthropicGatewayTest, MidStreamErrorEventBecomesAnOpenAIErrorEvent) {
  auto r = chat(R"({"model":"claude-stream-error/fake-model","stream":true,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(r.status, 200);
  auto s = read_stream(r.body);
  EXPECT_FALSE(s.done);
  ASSERT_FALSE(s.error.empty()) << r.body;
  EXPECT_EQ(s.error.at("type").as_string(), "overloaded_error");
  EXPECT_EQ(s.error.at("message").as_string(), "Overloaded");
  EXPECT_FALSE(s.text.empty());
}

TEST_F(AnthropicGatewayTest, StreamCutShortEndsWithAnErrorEvent) {
  for (std::string provider : {"claude-truncated", "claude-reset"}) {
    auto r = chat(R"({"model":")" + provider + R"(/fake-model","stream":true,"messages":[{"role":"user","content":"x"}]})");
    ASSERT_EQ(r.status, 200) << provider;
    auto s = read_stream(r.body);
    EXPECT_FALSE(s.done) << provider;
    EXPECT_FALSE(s.text.empty()) << provider;  // what arrived before the cut was passed on
    ASSERT_FALSE(s.error.empty()) << provider << ": " << r.body;
    EXPECT_NE(std::string(s.error.at("message").as_string()).find("'" + provider + "'"), std::string::npos);
  }
}

TEST_F(AnthropicGatewayTest, MalformedUpstreamBodyIs502) {
  auto r = chat(R"({"model":"claude-malformed/fake-model","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(json::parse(r.body).at("error").at("code").as_string(), "upstream_malformed_response");
}

TEST_F(AnthropicGatewayTest, WhatAnthropicCannotDoIsRefusedBeforeAnyUpstreamCall) {
  auto embeddings = http_post(gateway_->url("/v1/embeddings"), R"({"model":"fake-model","input":"x"})");
  EXPECT_EQ(embeddings.status, 501);
  EXPECT_EQ(json::parse(embeddings.body).at("error").at("code").as_string(), "unsupported_endpoint");
  auto n = chat(R"({"model":"fake-model","n":3,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(n.status, 400);
  EXPECT_EQ(json::parse(n.body).at("error").at("param").as_string(), "n");
}

TEST_F(AnthropicGatewayTest, UsageIsRecordedForTheProvider) {
  auto tokens = [] {
    auto usage = json::parse(http_get(gateway_->url("/api/usage")).body);
    auto* p = usage.at("providers").as_object().if_contains("claude");
    return p ? p->at("completion_tokens").to_number<int64_t>() : 0;
  };
  int64_t before = tokens();
  auto plain = chat(R"({"model":"fake-model","messages":[{"role":"user","content":"count me"}]})");
  auto stream = read_stream(chat(R"({"model":"fake-model","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"count me"}]})").body);
  ASSERT_EQ(plain.status, 200);
  int64_t expected = json::parse(plain.body).at("usage").at("completion_tokens").as_int64() +
                     stream.usage.at("completion_tokens").as_int64();
  // Recorded after the response is written: poll until it shows up.
  int64_t seen = 0;
  for (int i = 0; i < 200 && seen < expected; ++i) seen = tokens() - before;
  EXPECT_EQ(seen, expected);
}

// --- a tool loop with extended thinking: the fake signs its thinking and, as the API does, refuses a
// second turn whose last assistant message does not start with it, signature intact.

// The second turn's body: the first turn's assistant message (as the gateway gave it) and its result.
std::string thinking_second_turn(const json::object& assistant) {
  const auto& call = assistant.at("tool_calls").at(0).as_object();
  return std::string(R"({"model":"fake-model","reasoning_effort":"low",)") + kTools +
         R"(,"messages":[{"role":"user","content":"Weather in Oslo?"},)" + json::serialize(assistant) +
         R"(,{"role":"tool","tool_call_id":)" + json::serialize(call.at("id")) + R"(,"content":"12 degrees"}]})";
}

json::object thinking_first_turn(const HttpResponse& r) {
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body).at("choices").at(0).at("message").as_object();
}

const std::string kThinkingAsk =
    std::string(R"({"model":"fake-model","reasoning_effort":"low",)") + kTools +
    R"(,"messages":[{"role":"user","content":"Weather in Oslo?"}]})";

TEST_F(AnthropicGatewayTest, SignedThinkingComesOutAsThinkingBlocksAndGoesBackOnTheNextTurn) {
  auto first = thinking_first_turn(chat(kThinkingAsk));
  ASSERT_TRUE(first.contains("tool_calls")) << json::serialize(first);
  ASSERT_TRUE(first.contains("thinking_blocks")) << json::serialize(first);
  const auto& block = first.at("thinking_blocks").at(0).as_object();
  EXPECT_EQ(block.at("type").as_string(), "thinking");
  EXPECT_EQ(block.at("thinking"), first.at("reasoning_content"));
  std::string signature(block.at("signature").as_string());
  EXPECT_FALSE(signature.empty());

  auto r = chat(thinking_second_turn(first));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(json::parse(r.body).at("choices").at(0).at("message").at("content").as_string().empty());
  json::object upstream = json::parse(last_upstream_request().at("body").as_string()).as_object();
  const auto& sent = upstream.at("messages").at(1).at("content").as_array();
  ASSERT_GE(sent.size(), 2u);
  EXPECT_EQ(sent.at(0).at("type").as_string(), "thinking");
  EXPECT_EQ(sent.at(0).at("signature").as_string(), signature);
  EXPECT_EQ(sent.at(0).at("thinking"), first.at("reasoning_content"));
  EXPECT_EQ(sent.at(1).at("type").as_string(), "tool_use");
}

TEST_F(AnthropicGatewayTest, WithoutTheThinkingBlocksOrWithATamperedSignatureClaudeRefusesTheTurn) {
  auto first = thinking_first_turn(chat(kThinkingAsk));
  ASSERT_TRUE(first.contains("thinking_blocks")) << json::serialize(first);
  json::object bare = first;
  bare.erase("thinking_blocks");
  auto refused = chat(thinking_second_turn(bare));
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("must start with a thinking block"), std::string::npos) << refused.body;

  json::object tampered = first;
  tampered["thinking_blocks"].as_array()[0].as_object()["signature"] = "fakesig0000000000000000";
  auto bad = chat(thinking_second_turn(tampered));
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("Invalid `signature`"), std::string::npos) << bad.body;

  json::object unsigned_block = first;
  unsigned_block["thinking_blocks"].as_array()[0].as_object().erase("signature");
  auto unsigned_turn = chat(thinking_second_turn(unsigned_block));
  ASSERT_EQ(unsigned_turn.status, 400) << unsigned_turn.body;
  EXPECT_EQ(json::parse(unsigned_turn.body).at("error").at("param").as_string(), "messages[1].thinking_blocks[0].signature");
}

}  // namespace
}  // namespace llmux::test
