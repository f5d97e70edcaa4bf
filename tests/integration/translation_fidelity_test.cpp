// End-to-end: what the adapters carry exactly, through the real llmux and the real fake provider
// speaking each provider's wire format: reasoning_effort as Anthropic's thinking (within its rules,
// which the fake enforces as Anthropic's API does) and Gemini's thinkingConfig, Claude's signed
// thinking from Bedrock back to /v1/messages clients, Bedrock's x-amzn-ErrorType, the client's
// anthropic-beta header (and no other), and a Bedrock health probe on a configured path (the fake
// checks SigV4 over the bytes it received).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "anthropic_events.hpp"
#include "harness.hpp"
#include "webhook_listener.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

// AWS's documented example secret, which the fake checks signatures with; every API of the fake
// takes it as its key.
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* kClaudeOnBedrock = "anthropic.claude-fake-v1:0";

std::string bedrock_provider(const std::string& id, const std::string& base, const std::string& extra = "") {
  return "  " + id + ":\n    type: aws-bedrock\n    base_url: " + base + "\n    region: us-west-2\n" +
         "    accessKeyId: AKIDEXAMPLE\n    secretAccessKey: " + kSecret + "\n    max_retries: 0\n" +
         "    models: [\"" + kClaudeOnBedrock + "\"]\n" + extra;
}

json::array fake_requests(const FakeProvider& fake) {
  return json::parse(http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests").body).as_array();
}


class TranslationFidelityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(
        start_fake({"--require-key", kSecret, "--models", std::string("fake-model,gemini-3-pro-preview,") + kClaudeOnBedrock}));
    const std::string root = "http://127.0.0.1:" + std::to_string(fake_->port);
    gateway_ = new Gateway(start_gateway(
        "providers:\n"
        "  claude:\n    type: anthropic\n    base_url: " + fake_->base_url() + "\n    api_key: " + kSecret +
        "\n    max_retries: 0\n    models: [fake-model]\n"
        "  gem:\n    type: gemini\n    base_url: " + root + "/v1beta\n    api_key: " + kSecret +
        "\n    max_retries: 0\n    models: [fake-model, gemini-3-pro-preview]\n" +
        bedrock_provider("br", root + "/bedrock") +
        bedrock_provider("br-failing", root + "/bedrock", "    default_params: {fake: {status: 424}}\n")));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }

  static HttpResponse chat(const std::string& body, std::vector<std::string> headers = {}) {
    headers.push_back("Content-Type: application/json");
    return http_post(gateway_->url("/v1/chat/completions"), body, headers);
  }
  static HttpResponse messages(const std::string& body, std::vector<std::string> headers = {}) {
    headers.push_back("Content-Type: application/json");
    headers.push_back("anthropic-version: 2023-06-01");
    return http_post(gateway_->url("/v1/messages"), body, headers);
  }
  // The newest request the fake got whose target starts with `prefix`.
  static json::object last_upstream_request(const std::string& prefix) {
    auto log = fake_requests(*fake_);
    for (auto it = log.rbegin(); it != log.rend(); ++it)
      if (std::string_view(it->at("target").as_string()).starts_with(prefix)) return it->as_object();
    ADD_FAILURE() << "no request reached " << prefix;
    return {};
  }
  static json::object last_upstream_body(const std::string& prefix) {
    return json::parse(last_upstream_request(prefix).at("body").as_string()).as_object();
  }

  static FakeProvider* fake_;
  static Gateway* gateway_;
};
FakeProvider* TranslationFidelityTest::fake_ = nullptr;
Gateway* TranslationFidelityTest::gateway_ = nullptr;

const char* kAsk = R"("messages":[{"role":"user","content":"Think about it."}])";

TEST_F(TranslationFidelityTest, ReasoningEffortReachesAnthropicAsThinkingWithinItsRules) {
  auto r = chat(std::string(R"({"model":"claude/fake-model","reasoning_effort":"high",)") + kAsk + "}");
  ASSERT_EQ(r.status, 200) << r.body;  // the fake refuses thinking that breaks Anthropic's rules
  auto sent = last_upstream_body("/v1/messages");
  EXPECT_EQ(sent.at("thinking"), (json::object{{"type", "enabled"}, {"budget_tokens", 16384}}));
  EXPECT_EQ(sent.at("max_tokens"), 16384 + 4096);

  // What Anthropic would refuse is refused by the gateway, naming the field, before any call.
  size_t before = fake_requests(*fake_).size();
  for (auto [extra, param] : {std::pair{R"("reasoning_effort":"medium","max_tokens":4096,)", "max_tokens"},
                              std::pair{R"("reasoning_effort":"low","temperature":0.3,)", "temperature"},
                              std::pair{R"("reasoning_effort":"xhigh",)", "reasoning_effort"}}) {
    auto refused = chat(std::string(R"({"model":"claude/fake-model",)") + extra + kAsk + "}");
    EXPECT_EQ(refused.status, 400) << refused.body;
    auto error = json::parse(refused.body).at("error");
    EXPECT_EQ(error.at("param"), param) << refused.body;
    EXPECT_EQ(error.at("type"), "invalid_request_error");
  }
  EXPECT_EQ(fake_requests(*fake_).size(), before);
}

TEST_F(TranslationFidelityTest, ReasoningEffortReachesGeminiAsThinkingConfig) {
  auto r = chat(std::string(R"({"model":"gem/fake-model","reasoning_effort":"medium",)") + kAsk + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(last_upstream_body("/v1beta/models/fake-model").at("generationConfig").at("thinkingConfig"),
            (json::object{{"thinkingBudget", 4096}, {"includeThoughts", true}}));
  r = chat(std::string(R"({"model":"gem/gemini-3-pro-preview","reasoning_effort":"low","stream":true,)") + kAsk + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(last_upstream_body("/v1beta/models/gemini-3-pro-preview").at("generationConfig").at("thinkingConfig"),
            (json::object{{"thinkingLevel", "low"}, {"includeThoughts", true}}));
  auto none = chat(std::string(R"({"model":"gem/gemini-3-pro-preview","reasoning_effort":"none",)") + kAsk + "}");
  EXPECT_EQ(none.status, 400) << none.body;
  EXPECT_EQ(json::parse(none.body).at("error").at("param"), "reasoning_effort");
}

TEST_F(TranslationFidelityTest, ClaudesSignedThinkingFromBedrockReachesMessagesClients) {
  const std::string ask = std::string(R"({"model":"br/)") + kClaudeOnBedrock +
                          R"(","max_tokens":3000,"thinking":{"type":"enabled","budget_tokens":2048},)" +
                          R"("messages":[{"role":"user","content":"hello"}])";
  auto plain = messages(ask + "}");
  ASSERT_EQ(plain.status, 200) << plain.body;
  auto sent = last_upstream_body("/bedrock/model/");
  EXPECT_EQ(sent.at("additionalModelRequestFields").at("thinking").at("budget_tokens"), 1024);
  EXPECT_EQ(sent.at("inferenceConfig").at("maxTokens"), 3000);
  auto content = json::parse(plain.body).at("content").as_array();
  ASSERT_GE(content.size(), 2u) << plain.body;
  EXPECT_EQ(content[0].at("type"), "thinking");
  EXPECT_FALSE(content[0].at("thinking").as_string().empty());
  const json::value signature = content[0].at("signature");
  EXPECT_FALSE(signature.as_string().empty()) << plain.body;
  EXPECT_EQ(content[1].at("type"), "text");

  auto streamed = messages(ask + R"(,"stream":true})");
  ASSERT_EQ(streamed.status, 200) << streamed.body;
  std::string signed_with;
  int thinking_block = -1;
  for (const auto& e : anthropic_events_of(streamed.body)) {
    if (e.name == "content_block_start" && e.data.at("content_block").at("type") == "thinking")
      thinking_block = static_cast<int>(e.data.at("index").as_int64());
    if (e.name == "content_block_delta" && e.data.at("delta").at("type") == "signature_delta") {
      EXPECT_EQ(e.data.at("index").as_int64(), thinking_block);
      signed_with += e.data.at("delta").at("signature").as_string();
    }
  }
  EXPECT_EQ(thinking_block, 0) << streamed.body;
  EXPECT_EQ(json::value(signed_with), signature);
}

TEST_F(TranslationFidelityTest, BedrocksErrorTypeHeaderNamesTheException) {
  // The fake answers 424 with x-amzn-ErrorType ModelErrorException and a body of only a message:
  // by its status alone it would read as the client's mistake.
  auto r = chat(std::string(R"({"model":"br-failing/)") + kClaudeOnBedrock + "\"," + kAsk + "}");
  EXPECT_EQ(r.status, 424) << r.body;
  auto error = json::parse(r.body).at("error");
  EXPECT_EQ(error.at("type"), "upstream_error") << r.body;
  EXPECT_EQ(error.at("code"), "ModelErrorException") << r.body;
}

TEST_F(TranslationFidelityTest, AnthropicBetaIsForwardedAndNoOtherClientHeader) {
  const std::vector<std::string> headers{"anthropic-beta: interleaved-thinking-2025-05-14,token-efficient-tools-2025-02-19",
                                         "x-client-note: stays-here"};
  auto passed = messages(R"({"model":"claude/fake-model","max_tokens":50,"messages":[{"role":"user","content":"hi"}]})",
                         headers);
  ASSERT_EQ(passed.status, 200) << passed.body;
  auto sent = last_upstream_request("/v1/messages").at("headers").as_object();
  EXPECT_EQ(sent.at("anthropic-beta"), "interleaved-thinking-2025-05-14,token-efficient-tools-2025-02-19");
  EXPECT_FALSE(sent.contains("x-client-note"));

  auto translated = chat(std::string(R"({"model":"claude/fake-model",)") + kAsk + "}", headers);
  ASSERT_EQ(translated.status, 200) << translated.body;
  sent = last_upstream_request("/v1/messages").at("headers").as_object();
  EXPECT_EQ(sent.at("anthropic-beta"), "interleaved-thinking-2025-05-14,token-efficient-tools-2025-02-19");

  auto without = chat(std::string(R"({"model":"claude/fake-model",)") + kAsk + "}");
  ASSERT_EQ(without.status, 200) << without.body;
  EXPECT_FALSE(last_upstream_request("/v1/messages").at("headers").as_object().contains("anthropic-beta"));
}

// router.health.path under a Bedrock provider: the probe is signed over the path and query it
// sends, so the fake (which recomputes SigV4 over what it received) answers it.
TEST(BedrockProbe, AConfiguredHealthPathIsSignedOverWhatIsSent) {
  auto fake = start_fake({"--require-key", kSecret});
  WebhookListener hook;
  const std::string root = "http://127.0.0.1:" + std::to_string(fake.port);
  auto gw = start_gateway("providers:\n" + bedrock_provider("br", root + "/bedrock") +
                          "router:\n  health: {interval: 100ms, timeout: 2s, path: \"/foundation-models?byProvider=anthropic\"}\n"
                          "alerts:\n  webhook: " + hook.url("/h") + "\n");
  auto received = hook.next();
  ASSERT_TRUE(received);
  auto event = json::parse(received->body);
  EXPECT_EQ(event.at("provider"), "br");
  EXPECT_EQ(event.at("to"), "healthy") << received->body;
  bool probed = false;
  for (const auto& req : fake_requests(fake)) {
    if (req.at("target") != "/bedrock/foundation-models?byProvider=anthropic") continue;
    probed = true;
    EXPECT_EQ(req.at("method"), "GET");
    EXPECT_TRUE(std::string_view(req.at("headers").at("authorization").as_string()).starts_with("AWS4-HMAC-SHA256 "));
  }
  EXPECT_TRUE(probed);
}

}  // namespace
}  // namespace llmux::test
