// Reasoning across the adapters: OpenAI's reasoning_effort in every provider's own terms (one
// budget table; Claude's rules for thinking checked before any call; Gemini 3's levels), and the
// signatures of reasoning carried from the recorded Anthropic, Bedrock and Gemini answers into the
// thinking blocks the gateway writes for clients of /v1/messages.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <optional>
#include <sstream>

#include "fixture_files.hpp"
#include "http/sse.hpp"
#include "providers/anthropic/anthropic.hpp"
#include "providers/anthropic/anthropic_output.hpp"
#include "providers/bedrock/bedrock.hpp"
#include "providers/cohere/cohere.hpp"
#include "providers/encode_support.hpp"
#include "providers/gemini/gemini.hpp"
#include "providers/ollama/ollama.hpp"
#include "server/stream_framing.hpp"

namespace llmux::providers {
namespace {

namespace bj = boost::json;
using encode::ReasoningEffort;

using test::fixture_file;

// An encoder's answer for `body`: the JSON it wrote, or the error it gave.
struct Encoded {
  bj::object body;
  std::optional<Error> error;
};

template <typename Translate>
Encoded encoded(Translate&& translate) {
  std::string out;
  auto done = translate(out);
  if (!done) return {{}, done.error()};
  boost::system::error_code ec;
  auto v = bj::parse(out, ec);
  EXPECT_FALSE(ec) << out;
  return {ec || !v.is_object() ? bj::object{} : v.as_object(), std::nullopt};
}

Encoded anthropic(const std::string& body, const json::JsonMembers& defaults = {}) {
  return encoded([&](std::string& out) { return translate_chat_request(body, "claude-x", false, defaults, out); });
}
Encoded vertex_claude(const std::string& body, std::string_view beta) {
  return encoded([&](std::string& out) {
    return translate_vertex_chat_request(body, {"vertex-2023-10-16", beta}, false, {}, out);
  });
}
Encoded bedrock(const std::string& body, std::string_view model = "us.anthropic.claude-sonnet-4-v1:0") {
  return encoded([&](std::string& out) { return translate_bedrock_request(body, model, {}, out); });
}
Encoded gemini(const std::string& body, std::string_view model) {
  return encoded([&](std::string& out) { return translate_gemini_request(body, model, {}, out); });
}

std::string with_effort(std::string_view effort, std::string_view extra = "") {
  return std::string(R"({"model":"m","reasoning_effort":")") + std::string(effort) + "\"" + std::string(extra) +
         R"(,"messages":[{"role":"user","content":"Think."}]})";
}

// --- reasoning_effort ---------------------------------------------------------------------------

TEST(ReasoningEffort, OneBudgetTableForEveryAdapterThatTakesBudgets) {
  EXPECT_EQ(encode::thinking_budget(ReasoningEffort::minimal), 1024);
  EXPECT_EQ(encode::thinking_budget(ReasoningEffort::low), 1024);
  EXPECT_EQ(encode::thinking_budget(ReasoningEffort::medium), 4096);
  EXPECT_EQ(encode::thinking_budget(ReasoningEffort::high), 16384);
  for (auto [effort, level] : {std::pair{"low", ReasoningEffort::low}, std::pair{"medium", ReasoningEffort::medium},
                               std::pair{"high", ReasoningEffort::high}}) {
    int64_t budget = encode::thinking_budget(level);
    auto a = anthropic(with_effort(effort));
    ASSERT_FALSE(a.error) << a.error->message;
    EXPECT_EQ(a.body.at("thinking"), (bj::object{{"type", "enabled"}, {"budget_tokens", budget}})) << effort;
    auto b = bedrock(with_effort(effort));
    ASSERT_FALSE(b.error) << b.error->message;
    EXPECT_EQ(b.body.at("additionalModelRequestFields").at("thinking").at("budget_tokens"), budget) << effort;
    auto g = gemini(with_effort(effort), "gemini-2.5-flash");
    ASSERT_FALSE(g.error) << g.error->message;
    EXPECT_EQ(g.body.at("generationConfig").at("thinkingConfig"),
              (bj::object{{"thinkingBudget", budget}, {"includeThoughts", true}}))
        << effort;
  }
}

TEST(ReasoningEffort, ClaudesMaxTokensIsRaisedAboveTheBudgetOnlyWhenTheClientSetNone) {
  // The default 4096 is above low's 1024; medium and high get their budget plus the default.
  EXPECT_EQ(anthropic(with_effort("low")).body.at("max_tokens"), AnthropicProvider::kDefaultMaxTokens);
  EXPECT_EQ(anthropic(with_effort("medium")).body.at("max_tokens"), 4096 + AnthropicProvider::kDefaultMaxTokens);
  EXPECT_EQ(anthropic(with_effort("high")).body.at("max_tokens"), 16384 + AnthropicProvider::kDefaultMaxTokens);
  EXPECT_EQ(anthropic(with_effort("high"), {{"max_tokens", "32000"}}).body.at("max_tokens"), 32000);
  EXPECT_EQ(anthropic(with_effort("high", R"(,"max_completion_tokens":20000)")).body.at("max_tokens"), 20000);
  EXPECT_EQ(bedrock(with_effort("high")).body.at("inferenceConfig").at("maxTokens"), 16384 + 4096);
  // A max_tokens the client chose is not overridden: it must leave room above the budget.
  for (const auto& refused : {anthropic(with_effort("medium", R"(,"max_tokens":4096)")),
                              bedrock(with_effort("medium", R"(,"max_tokens":1000)"))}) {
    ASSERT_TRUE(refused.error);
    EXPECT_EQ(refused.error->param, "max_tokens");
    EXPECT_EQ(refused.error->http_status, 400);
    EXPECT_NE(refused.error->message.find("thinking budget of 4096"), std::string::npos) << refused.error->message;
  }
}

TEST(ReasoningEffort, ClaudesRulesForThinkingAreA400NamingTheField) {
  const std::string tools = R"(,"tools":[{"type":"function","function":{"name":"f"}}])";
  struct Case {
    std::string extra, param;
  };
  for (const Case& c : {Case{R"(,"temperature":0.2)", "temperature"}, Case{R"(,"top_k":5)", "top_k"},
                        Case{R"(,"top_p":0.5)", "top_p"}, Case{tools + R"(,"tool_choice":"required")", "tool_choice"},
                        Case{tools + R"(,"tool_choice":{"type":"function","function":{"name":"f"}})", "tool_choice"}}) {
    for (const auto& refused : {anthropic(with_effort("low", c.extra)), bedrock(with_effort("low", c.extra))}) {
      ASSERT_TRUE(refused.error) << c.extra;
      EXPECT_EQ(refused.error->param, c.param);
      EXPECT_EQ(refused.error->kind, ErrorKind::invalid_request);
    }
  }
  // What the rules allow passes: temperature 1, top_p 0.95, tool_choice auto.
  auto allowed = anthropic(with_effort("low", R"(,"temperature":1,"top_p":0.95)" + tools + R"(,"tool_choice":"auto")"));
  ASSERT_FALSE(allowed.error) << allowed.error->message;
  EXPECT_EQ(allowed.body.at("temperature"), 1);
  // Without reasoning_effort nothing changes.
  EXPECT_FALSE(anthropic(R"({"model":"m","temperature":0.2,"messages":[{"role":"user","content":"x"}]})").error);
}

TEST(ReasoningEffort, NoneAndMinimalAreHandledDeliberately) {
  // Anthropic: none disables thinking (overriding a default_params thinking); minimal is low's budget.
  auto none = anthropic(with_effort("none"), {{"thinking", R"({"type":"enabled","budget_tokens":2048})"}});
  ASSERT_FALSE(none.error);
  EXPECT_EQ(none.body.at("thinking"), (bj::object{{"type", "disabled"}}));
  EXPECT_EQ(anthropic(with_effort("minimal")).body.at("thinking").at("budget_tokens"), 1024);
  // Bedrock: none sends no thinking block.
  EXPECT_FALSE(bedrock(with_effort("none")).body.contains("additionalModelRequestFields"));
  // Gemini 2.5: none is a budget of 0 without thoughts; Gemini 3 takes levels and cannot stop thinking.
  EXPECT_EQ(gemini(with_effort("none"), "gemini-2.5-flash").body.at("generationConfig").at("thinkingConfig"),
            (bj::object{{"thinkingBudget", 0}}));
  for (const char* level : {"minimal", "low", "medium", "high"})
    EXPECT_EQ(gemini(with_effort(level), "gemini-3-pro-preview").body.at("generationConfig").at("thinkingConfig"),
              (bj::object{{"thinkingLevel", level}, {"includeThoughts", true}}));
  auto gemini3_none = gemini(with_effort("none"), "models/gemini-3-flash-preview");
  ASSERT_TRUE(gemini3_none.error);
  EXPECT_EQ(gemini3_none.error->param, "reasoning_effort");
}

TEST(ReasoningEffort, AValueOutsideOpenAIsLevelsIsA400NamingTheField) {
  std::string out;
  for (const std::string& body : {with_effort("xhigh"), with_effort("LOW"),
                                  std::string(R"({"reasoning_effort":3,"messages":[{"role":"user","content":"x"}]})")}) {
    std::vector<Expected<void, Error>> results;
    results.push_back(translate_chat_request(body, "claude-x", false, {}, out));
    results.push_back(translate_vertex_chat_request(body, {"vertex-2023-10-16", ""}, false, {}, out));
    results.push_back(translate_bedrock_request(body, "anthropic.claude-x", {}, out));
    results.push_back(translate_gemini_request(body, "gemini-2.5-flash", {}, out));
    results.push_back(translate_gemini_request(body, "gemini-3-pro-preview", {}, out));
    results.push_back(translate_cohere_chat_request(body, "command-a-reasoning", false, {}, out));
    results.push_back(translate_ollama_chat_request(body, "qwen3", false, {}, out));
    for (size_t i = 0; i < results.size(); ++i) {
      ASSERT_FALSE(results[i]) << "adapter " << i << ": " << body;
      EXPECT_EQ(results[i].error().param, "reasoning_effort") << "adapter " << i;
      EXPECT_EQ(results[i].error().code, "invalid_value");
    }
  }
}

TEST(ReasoningEffort, ClaudeOnVertexGetsThinkingAndTheClientsBetasInTheBody) {
  auto v = vertex_claude(with_effort("medium"), "interleaved-thinking-2025-05-14, context-1m-2025-08-07");
  ASSERT_FALSE(v.error) << v.error->message;
  EXPECT_EQ(v.body.at("anthropic_version"), "vertex-2023-10-16");
  EXPECT_FALSE(v.body.contains("model"));
  EXPECT_EQ(v.body.at("thinking").at("budget_tokens"), 4096);
  EXPECT_EQ(v.body.at("anthropic_beta"), (bj::array{"interleaved-thinking-2025-05-14", "context-1m-2025-08-07"}));
  EXPECT_FALSE(vertex_claude(with_effort("low"), "").body.contains("anthropic_beta"));
  EXPECT_FALSE(vertex_claude(with_effort("low"), " , ").body.contains("anthropic_beta"));
}

TEST(AnthropicBeta, TheClientsHeaderGoesWithTheRequestToAnthropicAndNothingElse) {
  ProviderConfig c;
  c.id = "claude";
  c.type = "anthropic";
  c.base_url = "https://api.anthropic.com/v1";
  c.api_key = Secret("sk-ant-test");
  AnthropicProvider provider(c);
  std::string body = R"({"model":"claude","messages":[{"role":"user","content":"hi"}],"max_tokens":5})";
  auto fields = json::read_request(body);
  ASSERT_TRUE(fields);
  auto lines = [](const http::UpstreamRequest& r) {
    std::vector<std::string> out;
    for (const auto& h : r.headers) out.push_back(h);
    return out;
  };
  for (auto api : {std::optional<NativeApi>(), std::optional(NativeApi::anthropic_messages),
                   std::optional(NativeApi::anthropic_count_tokens)}) {
    EncodeInput in{Endpoint::chat_completions, body, &*fields, "claude-sonnet-4-5", "req-1", false};
    in.anthropic_beta = "token-efficient-tools-2025-02-19";
    http::UpstreamRequest with, without;
    ASSERT_TRUE(api ? provider.encode_native(*api, in, with) : provider.encode_into(in, with));
    in.anthropic_beta = {};
    ASSERT_TRUE(api ? provider.encode_native(*api, in, without) : provider.encode_into(in, without));
    auto sent = lines(with);
    EXPECT_NE(std::find(sent.begin(), sent.end(), "anthropic-beta: token-efficient-tools-2025-02-19"), sent.end());
    EXPECT_EQ(sent.size(), lines(without).size() + 1);
  }
}

// --- signatures ---------------------------------------------------------------------------------

// The data of each event an AnthropicEventWriter wrote, in order.
std::vector<bj::object> anthropic_events(const std::string& sse) {
  std::vector<bj::object> out;
  http::SseParser parser;
  parser.feed(sse, [&](const http::SseEvent& e) {
    auto v = bj::parse(e.data);
    EXPECT_EQ(v.at("type").as_string(), e.event);
    out.push_back(v.as_object());
    return true;
  });
  return out;
}

// A recorded stream through `decoder` into the /v1/messages writer.
std::string to_messages_stream(ResponseDecoder& decoder, const std::string& bytes) {
  server::StreamFramer framer;
  framer.reset(decoder.stream_framing());
  decoder.reset();
  AnthropicEventWriter writer;
  std::string out;
  writer.begin(&out, 0, true);
  framer.feed(bytes, [&](const http::SseEvent& event) {
    if (auto decoded = decoder.decode_event(event, writer); !decoded) writer.fail(decoded.error());
    return !writer.ended();
  });
  EXPECT_TRUE(writer.done()) << out;
  return out;
}

// What a client of /v1/messages makes of the stream: its content blocks, deltas applied.
bj::array content_blocks(const std::string& sse) {
  bj::array blocks;
  for (auto& e : anthropic_events(sse)) {
    if (e.at("type") == "content_block_start") {
      EXPECT_EQ(e.at("index").to_number<size_t>(), blocks.size());
      blocks.push_back(e.at("content_block"));
    } else if (e.at("type") == "content_block_delta") {
      auto& block = blocks.at(e.at("index").to_number<size_t>()).as_object();
      auto& d = e.at("delta").as_object();
      std::string_view type = d.at("type").as_string();
      std::string_view field = type == "thinking_delta" ? "thinking" : type == "signature_delta" ? "signature" : "text";
      std::string text(block[field].as_string());
      text += d.at(field).as_string();
      block[field] = text;
    }
  }
  return blocks;
}

// A whole answer through `decoder` into the /v1/messages body: its content blocks.
bj::array messages_content(ResponseDecoder& decoder, std::string_view body) {
  ChatResponse response;
  auto decoded = decoder.decode_body(body, response);
  EXPECT_TRUE(decoded) << (decoded ? "" : decoded.error().message);
  std::string out;
  write_anthropic_message(response, out);
  return bj::parse(out).at("content").as_array();
}

TEST(ReasoningSignature, BedrocksRecordedSignatureClosesTheThinkingBlock) {
  auto decoder = make_bedrock_decoder();
  auto blocks = content_blocks(to_messages_stream(*decoder, fixture_file("bedrock/converse-stream-reasoning.eventstream.bin")));
  // The recording's own text and signature, read here from its decoded form.
  std::string reasoning, signature, text;
  std::istringstream lines(fixture_file("bedrock/converse-stream-reasoning.decoded.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    bj::value parsed = bj::parse(line);
    auto& payload = parsed.at("payload").as_object();
    auto* delta = payload.if_contains("delta");
    if (!delta) continue;
    if (auto* t = delta->as_object().if_contains("text")) text += t->as_string();
    if (auto* r = delta->as_object().if_contains("reasoningContent")) {
      if (auto* t = r->as_object().if_contains("text")) reasoning += t->as_string();
      if (auto* s = r->as_object().if_contains("signature")) signature += s->as_string();
    }
  }
  ASSERT_FALSE(signature.empty());
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0], (bj::object{{"type", "thinking"}, {"thinking", reasoning}, {"signature", signature}}));
  EXPECT_EQ(blocks[1], (bj::object{{"type", "text"}, {"text", text}}));
}

TEST(ReasoningSignature, AnthropicsRedactedThinkingBlocksPassWhole) {
  // Claude on Vertex answers in Anthropic's stream; the writer gives /v1/messages clients the
  // recorded redacted_thinking blocks with their data.
  auto decoder = make_anthropic_decoder();
  std::string recorded = fixture_file("anthropic/stream-thinking-redacted.sse.txt");
  auto blocks = content_blocks(to_messages_stream(*decoder, recorded));
  std::vector<std::string> data;
  for (auto& e : anthropic_events(recorded))
    if (e.at("type") == "content_block_start" && e.at("content_block").at("type") == "redacted_thinking")
      data.emplace_back(e.at("content_block").at("data").as_string());
  ASSERT_EQ(data.size(), 2u);
  ASSERT_EQ(blocks.size(), 3u);
  for (size_t i = 0; i < 2; ++i)
    EXPECT_EQ(blocks[i], (bj::object{{"type", "redacted_thinking"}, {"data", data[i]}}));
  EXPECT_EQ(blocks[2].at("type"), "text");
}

TEST(ReasoningSignature, AnthropicsSignatureDeltaAndBodiesKeepTheirSignature) {
  auto decoder = make_anthropic_decoder();
  std::string stream =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\","
      "\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
      "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
      "{\"type\":\"thinking_delta\",\"thinking\":\"Two and two.\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
      "{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pk\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
      "{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
      "{\"type\":\"text_delta\",\"text\":\"4\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
      "\"usage\":{\"output_tokens\":9}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  auto blocks = content_blocks(to_messages_stream(*decoder, stream));
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0], (bj::object{{"type", "thinking"},
                                   {"thinking", "Two and two."},
                                   {"signature", "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pk"}}));

  auto content = messages_content(*decoder, R"({"id":"msg_2","type":"message","model":"claude","content":[
    {"type":"thinking","thinking":"Hmm.","signature":"c2lnLTE="},
    {"type":"redacted_thinking","data":"ZW5jcnlwdGVk"},
    {"type":"text","text":"Done."}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":2}})");
  ASSERT_EQ(content.size(), 3u);
  EXPECT_EQ(content[0], (bj::object{{"type", "thinking"}, {"thinking", "Hmm."}, {"signature", "c2lnLTE="}}));
  EXPECT_EQ(content[1], (bj::object{{"type", "redacted_thinking"}, {"data", "ZW5jcnlwdGVk"}}));
  EXPECT_EQ(content[2], (bj::object{{"type", "text"}, {"text", "Done."}}));
}

TEST(ReasoningSignature, BedrockBodiesCarryTheSignatureAndRedactedContent) {
  auto decoder = make_bedrock_decoder();
  auto content = messages_content(*decoder, R"({"output":{"message":{"role":"assistant","content":[
    {"reasoningContent":{"reasoningText":{"text":"Let me see.","signature":"YmVkcm9jay1zaWc="}}},
    {"reasoningContent":{"redactedContent":"cmVkYWN0ZWQ="}},
    {"text":"Yes."}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}})");
  ASSERT_EQ(content.size(), 3u);
  EXPECT_EQ(content[0], (bj::object{{"type", "thinking"}, {"thinking", "Let me see."}, {"signature", "YmVkcm9jay1zaWc="}}));
  EXPECT_EQ(content[1], (bj::object{{"type", "redacted_thinking"}, {"data", "cmVkYWN0ZWQ="}}));
}

TEST(ReasoningSignature, GeminisThoughtSignatureSignsTheThoughtsBeforeIt) {
  // Thought parts, then the answer's first part with the signature (as Gemini sends it with
  // includeThoughts): the thinking block closes with it before the text block opens.
  auto decoder = make_gemini_decoder();
  std::string stream =
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Counting letters.\",\"thought\":true}],"
      "\"role\":\"model\"}}],\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}\n\n"
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Three.\",\"thoughtSignature\":\"Z2VtaW5pLXNpZw==\"}],"
      "\"role\":\"model\"},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":2,"
      "\"candidatesTokenCount\":1,\"thoughtsTokenCount\":4},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}\n\n";
  auto blocks = content_blocks(to_messages_stream(*decoder, stream));
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0], (bj::object{{"type", "thinking"}, {"thinking", "Counting letters."}, {"signature", "Z2VtaW5pLXNpZw=="}}));
  EXPECT_EQ(blocks[1], (bj::object{{"type", "text"}, {"text", "Three."}}));

  // The recorded Gemini 3 stream signs an answer it showed no thoughts for: no empty thinking block.
  std::string recorded;
  std::istringstream lines(fixture_file("gemini/stream-text.chunks.jsonl"));
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) recorded += "data: " + line + "\n\n";
  for (const auto& block : content_blocks(to_messages_stream(*decoder, recorded)))
    EXPECT_EQ(block.at("type"), "text");
}

}  // namespace
}  // namespace llmux::providers
