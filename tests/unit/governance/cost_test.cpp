// Cost per request for every usage shape the adapters read, from the recorded fixtures (with
// their zero cache/reasoning counts set to distinct values, so reading them shows in the cost).
#include "governance/cost.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "governance/prices.hpp"
#include "http/sse.hpp"
#include "providers/anthropic/anthropic.hpp"
#include "providers/openai_output.hpp"

namespace llmux::governance {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Replaces every `from` (at least one must be there) with `to`.
std::string with(std::string text, const std::string& from, const std::string& to) {
  EXPECT_NE(text.find(from), std::string::npos) << from;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// Distinct prices per kind (micro-USD per 1M tokens = pico-USD per token), so each count is
// billed visibly at its own price.
ModelPrices distinct_prices() {
  ModelPrices p;
  p.input = 3'000'000;         // $3 / 1M
  p.output = 15'000'000;       // $15 / 1M
  p.cached_input = 300'000;    // $0.30 / 1M
  p.cache_write = 3'750'000;   // $3.75 / 1M
  p.reasoning = 20'000'000;    // $20 / 1M
  return p;
}

// nano-USD of tokens at a price in pico-USD per token.
int64_t nanos(int64_t tokens, int64_t pico_per_token) { return tokens * pico_per_token / 1000; }

TEST(CostOpenAI, PlainResponseDetailsAreBilledAtTheirPrices) {
  std::string body = fixture("openai/chat-nonstream.json");
  auto recorded = json::read_usage(body);
  ASSERT_TRUE(recorded);
  EXPECT_TRUE(recorded->reported);
  EXPECT_EQ(recorded->prompt_tokens, 16);
  EXPECT_EQ(recorded->completion_tokens, 363);
  EXPECT_EQ(cost_nano_usd(*recorded, distinct_prices()), nanos(16, 3'000'000) + nanos(363, 15'000'000));

  body = with(body, "\"cached_tokens\": 0", "\"cached_tokens\": 10");
  body = with(body, "\"reasoning_tokens\": 0", "\"reasoning_tokens\": 300");
  auto u = json::read_usage(body);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->cached_tokens, 10);
  EXPECT_EQ(u->reasoning_tokens, 300);
  EXPECT_EQ(cost_nano_usd(*u, distinct_prices()),
            nanos(6, 3'000'000) + nanos(10, 300'000) + nanos(63, 15'000'000) + nanos(300, 20'000'000));
}

TEST(CostOpenAI, TheFinalStreamChunksUsageIsRead) {
  std::string chunk;
  http::SseParser sse;
  sse.feed(fixture("openai/chat-stream-finish-length.sse.txt"), [&](const http::SseEvent& e) {
    if (json::has_usage_object(e.data)) chunk = e.data;
    return true;
  });
  ASSERT_FALSE(chunk.empty());
  chunk = with(chunk, "\"reasoning_tokens\":0", "\"reasoning_tokens\":1");
  chunk = with(chunk, "\"total_tokens\":80", "\"total_tokens\":80,\"prompt_tokens_details\":{\"cached_tokens\":64}");
  auto u = json::read_usage(chunk);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->prompt_tokens, 79);
  EXPECT_EQ(u->cached_tokens, 64);
  EXPECT_EQ(u->reasoning_tokens, 1);
  EXPECT_EQ(cost_nano_usd(*u, distinct_prices()), nanos(15, 3'000'000) + nanos(64, 300'000) + nanos(1, 20'000'000));
}

TEST(CostOpenAICompatible, ShapesWithoutDetailsAndDeepSeeksCacheHitCount) {
  // Mistral, Ollama and Groq send only the three totals (Groq adds timings): plain input/output.
  for (const char* name : {"mistral/chat-nonstream.json", "ollama/v1-chat-completions-nonstream.json"}) {
    auto u = json::read_usage(fixture(name));
    ASSERT_TRUE(u) << name;
    EXPECT_EQ(u->cached_tokens + u->reasoning_tokens + u->cache_write_tokens, 0) << name;
    EXPECT_EQ(cost_nano_usd(*u, distinct_prices()),
              nanos(u->prompt_tokens, 3'000'000) + nanos(u->completion_tokens, 15'000'000))
        << name;
  }
  std::string groq_last;
  std::istringstream lines(fixture("groq/chat-stream-tool-call.chunks.jsonl"));
  for (std::string line; std::getline(lines, line);)
    if (json::has_usage_object(line)) groq_last = line;
  auto groq = json::read_usage(groq_last);
  ASSERT_TRUE(groq);
  EXPECT_EQ(groq->prompt_tokens, 210);
  EXPECT_EQ(groq->completion_tokens, 15);
  auto deepseek = json::read_usage(
      R"({"usage":{"prompt_tokens":100,"completion_tokens":10,"total_tokens":110,"prompt_cache_hit_tokens":80,"prompt_cache_miss_tokens":20}})");
  ASSERT_TRUE(deepseek);
  EXPECT_EQ(deepseek->cached_tokens, 80);
}

TEST(CostAnthropic, CacheReadsAndWritesOfAWholeResponse) {
  std::string body = fixture("anthropic/messages-nonstream.json");
  body = with(body, "\"cache_creation_input_tokens\": 0", "\"cache_creation_input_tokens\": 100");
  body = with(body, "\"cache_read_input_tokens\": 0", "\"cache_read_input_tokens\": 1000");
  auto decoder = providers::make_anthropic_decoder();
  providers::ChatResponse response;
  ASSERT_TRUE(decoder->decode_body(body, response));
  const auto& u = response.usage;
  EXPECT_TRUE(u.reported);
  EXPECT_EQ(u.prompt_tokens, 12 + 100 + 1000);  // OpenAI's sense: every input token
  EXPECT_EQ(u.cached_tokens, 1000);
  EXPECT_EQ(u.cache_write_tokens, 100);
  EXPECT_EQ(u.completion_tokens, 29);
  EXPECT_EQ(cost_nano_usd(u, distinct_prices()),
            nanos(12, 3'000'000) + nanos(1000, 300'000) + nanos(100, 3'750'000) + nanos(29, 15'000'000));
  // The translated answer tells an OpenAI client the same.
  std::string out;
  providers::write_chat_completion(response, 1, out);
  EXPECT_NE(out.find(R"("prompt_tokens_details":{"cached_tokens":1000,"cache_write_tokens":100})"), std::string::npos)
      << out;
}

TEST(CostAnthropic, CacheCountsOfAStreamAndTheCostInItsUsageChunk) {
  std::string sse = fixture("anthropic/stream-text.sse.txt");
  sse = with(sse, "\"cache_creation_input_tokens\":0", "\"cache_creation_input_tokens\":40");
  sse = with(sse, "\"cache_read_input_tokens\":0", "\"cache_read_input_tokens\":400");
  auto decoder = providers::make_anthropic_decoder();
  providers::OpenAIChunkWriter writer;
  std::string out;
  decoder->reset();
  writer.begin(&out, 1, true);
  ModelPrices prices = distinct_prices();
  writer.price_usage_with(&prices, R"({"messages":[{"role":"user","content":"hi"}]})");
  http::SseParser parser;
  parser.feed(sse, [&](const http::SseEvent& e) {
    EXPECT_TRUE(decoder->decode_event(e, writer));
    return !writer.ended();
  });
  ASSERT_TRUE(writer.done());
  const auto& u = writer.usage();
  EXPECT_EQ(u.cached_tokens, 400);
  EXPECT_EQ(u.cache_write_tokens, 40);
  EXPECT_EQ(u.prompt_tokens, 10 + 40 + 400);
  int64_t cost = cost_nano_usd(u, prices);
  EXPECT_EQ(cost, nanos(10, 3'000'000) + nanos(400, 300'000) + nanos(40, 3'750'000) +
                      nanos(u.completion_tokens, 15'000'000));
  EXPECT_NE(out.find(",\"cost_usd\":" + format_usd_nanos(cost) + "}"), std::string::npos) << out;
}

TEST(CostUnpricedKinds, CachedAndCacheWritesDefaultToInputReasoningToOutput) {
  json::Usage u;
  u.prompt_tokens = 100;
  u.cached_tokens = 30;
  u.cache_write_tokens = 20;
  u.completion_tokens = 50;
  u.reasoning_tokens = 10;
  ModelPrices p;
  p.input = 1'000'000;
  p.output = 2'000'000;
  EXPECT_EQ(cost_nano_usd(u, p), nanos(100, 1'000'000) + nanos(50, 2'000'000));
  // Details claiming more than their total are clamped, never billed twice or negative.
  u.cached_tokens = 500;
  u.reasoning_tokens = -3;
  EXPECT_EQ(cost_nano_usd(u, distinct_prices()), nanos(100, 300'000) + nanos(50, 15'000'000));
}

TEST(CostEstimate, NoReportedUsageIsEstimatedFromTheTexts) {
  std::string request = R"({"model":"m","messages":[{"role":"user","content":"0123456789abcdef"}]})";  // 16 bytes
  std::string answer = R"({"choices":[{"message":{"role":"assistant","content":"01234567"}}]})";   // 8 bytes
  Cost c = request_cost(json::Usage{}, distinct_prices(), {request, answer, 0});
  EXPECT_TRUE(c.estimated);
  EXPECT_EQ(c.nano_usd, nanos(4, 3'000'000) + nanos(2, 15'000'000));
  // A stream's estimate counts the text streamed.
  Cost s = request_cost(json::Usage{}, distinct_prices(), {request, {}, 40});
  EXPECT_EQ(s.nano_usd, nanos(4, 3'000'000) + nanos(10, 15'000'000));
  // Reported usage is billed as reported, whatever the texts.
  json::Usage reported;
  reported.reported = true;
  reported.prompt_tokens = 1;
  Cost r = request_cost(reported, distinct_prices(), {request, answer, 40});
  EXPECT_FALSE(r.estimated);
  EXPECT_EQ(r.nano_usd, nanos(1, 3'000'000));
}

TEST(CostEstimate, TextBytesCountOnlyWhatAModelReadsOrWrites) {
  EXPECT_EQ(text_bytes_in_json(R"({"model":"gpt-4o","content":"abc","x":{"text":"de\"f"},"input":"g"})"), 3u + 5 + 1);
  EXPECT_EQ(text_bytes_in_json(R"({"content": "ab", "role":"content"})"), 2u);  // a value named content is no key
  EXPECT_EQ(text_bytes_in_json(R"({"reasoning_content":"xyz","context":"no"})"), 3u);
  EXPECT_EQ(text_bytes_in_json(R"({"content":"a\\","text":"b"})"), 3u + 1);  // an escaped backslash ends no string
  EXPECT_EQ(text_bytes_in_json(R"({"content":null,"arguments":"{\"a\":1}"})"), 9u);  // escapes as written
  EXPECT_EQ(text_bytes_in_json(R"({"content":"unterminated)"), 12u);
  EXPECT_EQ(text_bytes_in_json(""), 0u);
}

TEST(CostEstimate, AStreamsTextIsItsEventsLessTheFramingLearnedOnce) {
  StreamTextEstimate estimate;
  estimate.add(R"({"id":"c1","choices":[{"delta":{"role":"assistant"}}]})");  // no text yet: framing unknown
  EXPECT_EQ(estimate.bytes(), 0u);
  estimate.add(R"({"id":"c1","choices":[{"delta":{"content":"Hello"}}]})");
  EXPECT_EQ(estimate.bytes(), 5u);
  estimate.add(R"({"id":"c1","choices":[{"delta":{"content":" world!"}}]})");
  EXPECT_EQ(estimate.bytes(), 12u);
  estimate.add(R"({"id":"c1","choices":[{"delta":{}}]})");  // shorter than the framing: nothing
  EXPECT_EQ(estimate.bytes(), 12u);
}

TEST(CostRounding, OneRequestIsRoundedOnceToTheNearestNanoDollar) {
  json::Usage u;
  u.prompt_tokens = 1;
  ModelPrices p;
  p.input = 499;  // pico-USD per token
  EXPECT_EQ(cost_nano_usd(u, p), 0);
  p.input = 500;
  EXPECT_EQ(cost_nano_usd(u, p), 1);
  u.prompt_tokens = 3;
  p.input = 333;  // 999 pico
  EXPECT_EQ(cost_nano_usd(u, p), 1);
}

}  // namespace
}  // namespace llmux::governance
