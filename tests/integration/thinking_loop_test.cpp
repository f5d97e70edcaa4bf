// End-to-end: a tool loop with Claude's extended thinking over /v1/chat/completions. The fake
// Anthropic provider signs the thinking it answers with and, as the API does, refuses a second
// turn whose last assistant message does not start with that thinking, signature intact. The
// gateway carries the signed block out as thinking_blocks and back in as a thinking block.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

constexpr const char* kUpstreamKey = "sk-ant-upstream-secret-think";

constexpr const char* kTools = R"("tools":[{"type":"function","function":{"name":"get_weather",
  "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])";

class ThinkingLoopTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(start_fake({"--require-key", kUpstreamKey}));
    gateway_ = new Gateway(start_gateway(R"(
providers:
  claude:
    type: anthropic
    base_url: )" + fake_->base_url() + R"(
    api_key: )" + kUpstreamKey + R"(
    max_retries: 0
    models: [fake-model]
)"));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }

  static HttpResponse chat(const std::string& body) { return http_post(gateway_->url("/v1/chat/completions"), body); }
  static json::object last_upstream_body() {
    auto log = json::parse(http_get("http://127.0.0.1:" + std::to_string(fake_->port) + "/_fake/requests").body).as_array();
    for (auto it = log.rbegin(); it != log.rend(); ++it)
      if (it->at("target") == "/v1/messages") return json::parse(it->at("body").as_string()).as_object();
    ADD_FAILURE() << "no request reached /v1/messages";
    return {};
  }
  // The second turn's body: the first turn's assistant message (as `assistant`) and its result.
  static std::string second_turn(const json::object& assistant) {
    const auto& call = assistant.at("tool_calls").at(0).as_object();
    return std::string(R"({"model":"claude/fake-model","reasoning_effort":"low",)") + kTools +
           R"(,"messages":[{"role":"user","content":"Weather in Oslo?"},)" + json::serialize(assistant) +
           R"(,{"role":"tool","tool_call_id":)" + json::serialize(call.at("id")) + R"(,"content":"12 degrees"}]})";
  }

  static FakeProvider* fake_;
  static Gateway* gateway_;
};
FakeProvider* ThinkingLoopTest::fake_ = nullptr;
Gateway* ThinkingLoopTest::gateway_ = nullptr;

json::object first_turn_message(const HttpResponse& r) {
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body).at("choices").at(0).at("message").as_object();
}

TEST_F(ThinkingLoopTest, TheSignedThinkingComesOutAsThinkingBlocksAndGoesBackOnTheNextTurn) {
  auto first = first_turn_message(chat(std::string(R"({"model":"claude/fake-model","reasoning_effort":"low",)") + kTools +
                                       R"(,"messages":[{"role":"user","content":"Weather in Oslo?"}]})"));
  ASSERT_TRUE(first.contains("tool_calls")) << json::serialize(first);
  ASSERT_TRUE(first.contains("thinking_blocks")) << json::serialize(first);
  const auto& block = first.at("thinking_blocks").at(0).as_object();
  EXPECT_EQ(block.at("type").as_string(), "thinking");
  EXPECT_EQ(block.at("thinking"), first.at("reasoning_content"));
  std::string signature(block.at("signature").as_string());
  EXPECT_FALSE(signature.empty());

  auto r = chat(second_turn(first));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(json::parse(r.body).at("choices").at(0).at("message").at("content").as_string().empty());
  json::object upstream = last_upstream_body();
  const auto& sent = upstream.at("messages").at(1).at("content").as_array();
  ASSERT_GE(sent.size(), 2u);
  EXPECT_EQ(sent.at(0).at("type").as_string(), "thinking");
  EXPECT_EQ(sent.at(0).at("signature").as_string(), signature);
  EXPECT_EQ(sent.at(0).at("thinking"), first.at("reasoning_content"));
  EXPECT_EQ(sent.at(1).at("type").as_string(), "tool_use");
}

TEST_F(ThinkingLoopTest, WithoutTheBlocksOrWithATamperedSignatureClaudeRefusesTheTurn) {
  auto first = first_turn_message(chat(std::string(R"({"model":"claude/fake-model","reasoning_effort":"low",)") + kTools +
                                       R"(,"messages":[{"role":"user","content":"Weather in Oslo?"}]})"));
  ASSERT_TRUE(first.contains("thinking_blocks")) << json::serialize(first);
  json::object bare = first;
  bare.erase("thinking_blocks");
  auto refused = chat(second_turn(bare));
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("must start with a thinking block"), std::string::npos) << refused.body;

  json::object tampered = first;
  tampered["thinking_blocks"].as_array()[0].as_object()["signature"] = "fakesig0000000000000000";
  auto bad = chat(second_turn(tampered));
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("Invalid `signature`"), std::string::npos) << bad.body;

  json::object unsigned_block = first;
  unsigned_block["thinking_blocks"].as_array()[0].as_object().erase("signature");
  auto unsigned_turn = chat(second_turn(unsigned_block));
  ASSERT_EQ(unsigned_turn.status, 400) << unsigned_turn.body;
  EXPECT_EQ(json::parse(unsigned_turn.body).at("error").at("param").as_string(), "messages[1].thinking_blocks[0].signature");
}

}  // namespace
}  // namespace llmux::test
