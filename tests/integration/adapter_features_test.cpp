// End-to-end, for the cells of README's adapter × feature table that the per-adapter gateway tests
// leave open: what passes through the OpenAI-shaped adapters (openai-compatible, azure-openai)
// unchanged — JSON mode, reasoning_content, cached prompt tokens, image parts — and what the
// translating ones make of a provider's cache counts (anthropic), images (cohere) and visible
// reasoning (ollama's and cohere's thinking). One fake provider behind one gateway; the fake is
// told what to answer by the request's "fake" object (passed through) or, for the translating
// adapters, by the provider's default_params. Cost and cached counts are read back from the cost
// header and the usage ledger.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"
#include "openai_stream.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kReasoning = "The user wants a city; Oslo fits.";
constexpr int64_t kReasoningWords = 7;  // one token a word, at the fake

// Prices in nano-USD per token, and the same as the config writes them.
constexpr int64_t kInput = 600, kOutput = 1200, kCachedInput = 150;
constexpr const char* kPricing = "{input: 0.0006, output: 0.0012, cached_input_per_mtok: 0.15}";
constexpr int64_t kClaudeInput = 3000, kClaudeOutput = 15000, kClaudeCacheRead = 300, kClaudeCacheWrite = 3750;
constexpr const char* kClaudePricing =
    "{input: 0.003, output: 0.015, cached_input_per_mtok: 0.3, cache_write_per_mtok: 3.75}";
constexpr int64_t kClaudeCacheReads = 30, kClaudeCacheWrites = 4;

class AdapterFeaturesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    state_ = new TempDir("llmux-features-it");
    fake_ = new FakeProvider(start_fake());
    const std::string root = "http://127.0.0.1:" + std::to_string(fake_->port);
    const std::string thinking = std::string("    default_params: {fake: {reasoning: \"") + kReasoning + "\"}}\n";
    // oa and az as they are, and priced twice over (oa-priced, az-priced) for the ledger's totals.
    auto openai_shaped = [&root](const std::string& suffix, const std::string& model_extra) {
      return "  oa" + suffix + ":\n    base_url: " + root + "/v1\n    api_key: sk-oa-fake\n    max_retries: 0\n" +
             "    models:\n      - id: fake-model\n" + model_extra + "  az" + suffix +
             ":\n    type: azure-openai\n    baseUrl: " + root + "\n    apiKey: azure-fake-key\n" +
             "    apiVersion: \"2024-10-21\"\n    max_retries: 0\n    models:\n      - id: az-model\n" +
             "        deployment: prod-4o\n" + model_extra;
    };
    gateway_ = new Gateway(start_gateway("state_dir: " + state_->path + "\nproviders:\n" + openai_shaped("", "") +
                                         openai_shaped("-priced", std::string("        pricing: ") + kPricing + "\n") + R"(
  claude:
    type: anthropic
    base_url: )" + root + R"(/v1
    api_key: sk-ant-fake
    max_retries: 0
    default_params: {fake: {cached_tokens: )" + std::to_string(kClaudeCacheReads) +
                                         ", cache_write_tokens: " + std::to_string(kClaudeCacheWrites) + R"(}}
    models:
      - id: fake-model
        pricing: )" + kClaudePricing + R"(
  co:
    type: cohere
    base_url: )" + root + R"(/cohere/v2
    api_key: co-fake-key
    max_retries: 0
    models: [fake-model]
  co-thinking:
    type: cohere
    base_url: )" + root + R"(/cohere/v2
    api_key: co-fake-key
    max_retries: 0
    models: [fake-model]
)" + thinking + R"(
  llama-thinking:
    type: ollama
    base_url: )" + root + R"(
    max_retries: 0
    models: [fake-model]
)" + thinking));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
    delete state_;
  }

  static HttpResponse chat(const std::string& body) { return http_post(gateway_->url("/v1/chat/completions"), body); }
  // The same conversation straight to the fake's OpenAI endpoint.
  static json::object openai_answer(const std::string& body) {
    auto r = http_post(fake_->base_url() + "/chat/completions", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();
  }
  // The body of the newest request the fake got on a path starting with `prefix`.
  static json::object last_upstream_body(std::string_view prefix) {
    auto log = json::parse(http_get("http://127.0.0.1:" + std::to_string(fake_->port) + "/_fake/requests").body).as_array();
    for (auto it = log.rbegin(); it != log.rend(); ++it)
      if (std::string_view(it->at("target").as_string()).starts_with(prefix))
        return json::parse(it->at("body").as_string()).as_object();
    ADD_FAILURE() << "no request reached " << prefix;
    return {};
  }
  // The ledger's totals for `provider` once it holds `requests` of its requests: a request is
  // recorded just after its client has the answer, so /api/usage is polled with a deadline.
  static json::object ledger_totals(const std::string& provider, int64_t requests) {
    auto until = Clock::now() + std::chrono::seconds(10);
    json::object found;
    while (Clock::now() < until) {
      auto r = http_get(gateway_->url("/api/usage?by=provider"));
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      const auto report = json::parse(r.body);
      for (const auto& g : report.at("groups").as_array())
        if (g.at("group").as_string() == provider) found = g.as_object();
      if (!found.empty() && found.at("requests").as_int64() >= requests) return found;
    }
    ADD_FAILURE() << "the ledger has not " << requests << " requests of " << provider;
    return found;
  }

  static TempDir* state_;
  static FakeProvider* fake_;
  static Gateway* gateway_;
};
TempDir* AdapterFeaturesTest::state_ = nullptr;
FakeProvider* AdapterFeaturesTest::fake_ = nullptr;
Gateway* AdapterFeaturesTest::gateway_ = nullptr;

// Where each OpenAI-shaped provider's chat requests arrive at the fake.
const std::pair<const char*, const char*> kPassThrough[] = {
    {"oa", "/v1/chat/completions"},
    {"az", "/openai/deployments/prod-4o/chat/completions"},
};
std::string model_of(const std::string& provider) {
  return provider + (provider.starts_with("az") ? "/az-model" : "/fake-model");
}

TEST_F(AdapterFeaturesTest, JsonModeReachesTheUpstreamUnchangedAndReasoningContentComesBack) {
  const std::string format =
      R"({"type":"json_schema","json_schema":{"name":"city","strict":true,"schema":{"type":"object",)"
      R"("properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}})";
  const std::string answer = R"({\"city\":\"Oslo\"})";
  for (const auto& [provider, path] : kPassThrough) {
    SCOPED_TRACE(provider);
    const std::string ask = R"({"model":")" + model_of(provider) +
                            R"(","messages":[{"role":"user","content":"Which city?"}],"response_format":)" + format +
                            R"(,"fake":{"content":")" + answer + R"(","reasoning":")" + kReasoning + R"("})";
    auto r = chat(ask + "}");
    ASSERT_EQ(r.status, 200) << r.body;
    const auto message = json::parse(r.body).at("choices").at(0).at("message").as_object();
    EXPECT_EQ(json::parse(message.at("content").as_string()), json::parse(R"({"city":"Oslo"})"));
    EXPECT_EQ(message.at("reasoning_content").as_string(), kReasoning);
    EXPECT_EQ(json::parse(r.body).at("usage").at("completion_tokens_details").at("reasoning_tokens").as_int64(),
              kReasoningWords);
    auto sent = last_upstream_body(path);
    EXPECT_EQ(sent.at("response_format"), json::parse(format));

    auto streamed = chat(ask + R"(,"stream":true})");
    ASSERT_EQ(streamed.status, 200) << streamed.body;
    auto s = read_stream(streamed.body);
    EXPECT_TRUE(s.done) << streamed.body;
    EXPECT_EQ(s.reasoning, kReasoning);
    EXPECT_EQ(json::parse(s.text), json::parse(R"({"city":"Oslo"})"));
    EXPECT_EQ(last_upstream_body(path).at("response_format"), json::parse(format));
  }
}

TEST_F(AdapterFeaturesTest, CachedPromptTokensPassThroughAndArePricedAtTheCachedPrice) {
  constexpr int64_t kCached = 40;
  for (const auto& entry : kPassThrough) {
    const std::string provider = entry.first + std::string("-priced");
    SCOPED_TRACE(provider);
    const std::string ask = R"({"model":")" + model_of(provider) +
                            R"(","messages":[{"role":"user","content":"The long shared prefix, then a question"}],)" +
                            R"("fake":{"cached_tokens":)" + std::to_string(kCached) + "}";
    auto r = chat(ask + "}");
    ASSERT_EQ(r.status, 200) << r.body;
    const auto usage = json::parse(r.body).at("usage").as_object();
    EXPECT_EQ(usage.at("prompt_tokens_details").at("cached_tokens").as_int64(), kCached);
    const int64_t prompt = usage.at("prompt_tokens").as_int64(), completion = usage.at("completion_tokens").as_int64();
    ASSERT_GT(prompt, kCached);
    const int64_t cost = (prompt - kCached) * kInput + kCached * kCachedInput + completion * kOutput;
    EXPECT_EQ(nanos_of(r.header("x-llmux-cost-usd")), cost) << r.header("x-llmux-cost-usd");

    auto streamed = chat(ask + R"(,"stream":true,"stream_options":{"include_usage":true}})");
    ASSERT_EQ(streamed.status, 200) << streamed.body;
    auto s = read_stream(streamed.body);
    ASSERT_FALSE(s.usage.empty()) << streamed.body;
    EXPECT_EQ(s.usage.at("prompt_tokens_details").at("cached_tokens").as_int64(), kCached);

    // Both answers are in the ledger with their cached tokens, and priced as the header said.
    auto totals = ledger_totals(provider, 2);
    EXPECT_EQ(totals.at("cached_tokens").as_int64(), 2 * kCached);
    EXPECT_EQ(totals.at("cost_nano_usd").as_int64(), 2 * cost);
  }
}

TEST_F(AdapterFeaturesTest, AnthropicCacheReadsAndWritesBecomeOpenAIsCachedTokensPlainAndStreamed) {
  const std::string conversation = R"("messages":[{"role":"user","content":"hello from a cached prefix"}])";
  auto want = openai_answer(R"({"model":"fake-model",)" + conversation + "}");
  const int64_t uncached = want.at("usage").at("prompt_tokens").as_int64();
  const int64_t prompt = uncached + kClaudeCacheReads + kClaudeCacheWrites;

  auto r = chat(R"({"model":"claude/fake-model",)" + conversation + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto usage = json::parse(r.body).at("usage").as_object();
  EXPECT_EQ(usage.at("prompt_tokens").as_int64(), prompt);
  EXPECT_EQ(usage.at("prompt_tokens_details").at("cached_tokens").as_int64(), kClaudeCacheReads);
  EXPECT_EQ(usage.at("prompt_tokens_details").at("cache_write_tokens").as_int64(), kClaudeCacheWrites);
  const int64_t completion = usage.at("completion_tokens").as_int64();
  const int64_t cost = uncached * kClaudeInput + kClaudeCacheReads * kClaudeCacheRead +
                       kClaudeCacheWrites * kClaudeCacheWrite + completion * kClaudeOutput;
  EXPECT_EQ(nanos_of(r.header("x-llmux-cost-usd")), cost) << r.header("x-llmux-cost-usd");
  // What went upstream is Anthropic's request: the cache counts came back from its usage.
  EXPECT_TRUE(last_upstream_body("/v1/messages").contains("max_tokens"));

  auto streamed = chat(R"({"model":"claude/fake-model","stream":true,"stream_options":{"include_usage":true},)" +
                       conversation + "}");
  ASSERT_EQ(streamed.status, 200) << streamed.body;
  auto s = read_stream(streamed.body);
  EXPECT_TRUE(s.done) << streamed.body;
  ASSERT_FALSE(s.usage.empty()) << streamed.body;
  EXPECT_EQ(s.usage.at("prompt_tokens").as_int64(), prompt);
  EXPECT_EQ(s.usage.at("prompt_tokens_details").at("cached_tokens").as_int64(), kClaudeCacheReads);
  EXPECT_EQ(s.usage.at("prompt_tokens_details").at("cache_write_tokens").as_int64(), kClaudeCacheWrites);

  auto totals = ledger_totals("claude", 2);
  EXPECT_EQ(totals.at("cached_tokens").as_int64(), 2 * kClaudeCacheReads);
  EXPECT_EQ(totals.at("cache_write_tokens").as_int64(), 2 * kClaudeCacheWrites);
  EXPECT_EQ(totals.at("cost_nano_usd").as_int64(), 2 * cost);
}

// A user message with a data: image and an https one, as OpenAI clients write them.
const char* kImageContent =
    R"([{"type":"text","text":"What is in these pictures?"},)"
    R"({"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="}},)"
    R"({"type":"image_url","image_url":{"url":"https://example.com/cat.jpg","detail":"low"}}])";

TEST_F(AdapterFeaturesTest, AzureSendsImagePartsAsWrittenAndCohereInItsV2Chat) {
  const std::string ask = std::string(R"(","messages":[{"role":"user","content":)") + kImageContent + "}]}";
  auto azure = chat(R"({"model":"az/az-model)" + ask);
  ASSERT_EQ(azure.status, 200) << azure.body;
  EXPECT_EQ(last_upstream_body("/openai/deployments/prod-4o/").at("messages").at(0).at("content"), json::parse(kImageContent));

  auto cohere = chat(R"({"model":"co/fake-model)" + ask);
  ASSERT_EQ(cohere.status, 200) << cohere.body;
  EXPECT_NE(json::parse(cohere.body).at("choices").at(0).at("message").at("content").as_string().find("What is in these pictures?"),
            std::string::npos)
      << cohere.body;
  auto sent = last_upstream_body("/cohere/v2/chat");
  EXPECT_EQ(sent.at("messages").at(0).at("role").as_string(), "user");
  EXPECT_EQ(sent.at("messages").at(0).at("content"), json::parse(kImageContent));
}

TEST_F(AdapterFeaturesTest, OllamaAndCohereThinkingComesBackAsReasoningContent) {
  const std::string conversation = R"("messages":[{"role":"user","content":"Think, then name a city"}])";
  const auto want = openai_answer(R"({"model":"fake-model",)" + conversation + "}");
  const std::string answer(want.at("choices").at(0).at("message").at("content").as_string());
  for (std::string provider : {"llama-thinking", "co-thinking"}) {
    SCOPED_TRACE(provider);
    auto r = chat(R"({"model":")" + provider + R"(/fake-model",)" + conversation + "}");
    ASSERT_EQ(r.status, 200) << r.body;
    const auto message = json::parse(r.body).at("choices").at(0).at("message").as_object();
    EXPECT_EQ(message.at("reasoning_content").as_string(), kReasoning) << r.body;
    EXPECT_EQ(message.at("content").as_string(), answer);

    auto streamed = chat(R"({"model":")" + provider + R"(/fake-model","stream":true,)" + conversation + "}");
    ASSERT_EQ(streamed.status, 200) << streamed.body;
    auto s = read_stream(streamed.body);
    EXPECT_TRUE(s.done) << streamed.body;
    EXPECT_EQ(s.reasoning, kReasoning);
    EXPECT_EQ(s.text, answer);
  }
}

}  // namespace
}  // namespace llmux::test
