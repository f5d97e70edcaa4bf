// The Cohere v2 adapter: OpenAI requests into v2 chat and embed requests, and v2 bodies and
// recorded streams (shared/fixtures/providers/cohere) back into OpenAI's format. Expected values
// are computed from the fixtures with Boost.JSON, independently of the adapter's simdjson code.
#include "providers/cohere/cohere.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "http/sse.hpp"
#include "openai_assembly.hpp"
#include "providers/openai_output.hpp"

namespace llmux::providers {
namespace {

namespace bj = boost::json;
using test::Assembled;
using test::assemble_openai;
using test::jsonl;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/cohere/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bj::object translate(const std::string& openai_body, const json::JsonMembers& defaults = {}) {
  std::string out;
  auto done = translate_cohere_chat_request(openai_body, "command-a-03-2025", true, defaults, out);
  EXPECT_TRUE(done) << (done ? "" : done.error().message);
  boost::system::error_code ec;
  auto v = bj::parse(out, ec);
  EXPECT_FALSE(ec) << out;
  return ec || !v.is_object() ? bj::object{} : v.as_object();
}

TEST(CohereRequest, MessagesToolsAndSamplingInCoheresNames) {
  auto r = translate(R"({"model":"x","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi","name":"bob"},
    {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
    {"role":"tool","tool_call_id":"c1","content":"42"}],
    "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"}}}],"tool_choice":"required",
    "temperature":0.5,"top_p":0.8,"seed":3,"max_completion_tokens":99,"stop":"END","frequency_penalty":0.1,
    "response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object"}}},"reasoning_effort":"low"})",
                     json::JsonMembers{{"safety_mode", R"("STRICT")"}, {"temperature", "1.9"}});
  EXPECT_EQ(r["model"], "command-a-03-2025");
  EXPECT_EQ(r["stream"], true);
  auto& m = r["messages"].as_array();
  EXPECT_EQ(m[0].at("role"), "system");
  EXPECT_FALSE(m[1].as_object().contains("name"));  // only what Cohere reads
  EXPECT_EQ(m[2].at("tool_calls").at(0).at("function").at("arguments"), "{\"a\":1}");
  EXPECT_EQ(m[3].at("tool_call_id"), "c1");
  EXPECT_EQ(r["tools"].at(0).at("function").at("name"), "f");
  EXPECT_EQ(r["tool_choice"], "REQUIRED");
  EXPECT_EQ(r["temperature"].as_double(), 0.5);  // the client's value, not the default
  EXPECT_EQ(r["p"].as_double(), 0.8);
  EXPECT_EQ(r["max_tokens"].as_int64(), 99);
  EXPECT_EQ(r["stop_sequences"].at(0), "END");
  EXPECT_EQ(r["response_format"].at("type"), "json_object");
  EXPECT_EQ(r["response_format"].at("json_schema").at("type"), "object");
  EXPECT_EQ(r["thinking"].at("type"), "enabled");
  EXPECT_EQ(r["safety_mode"], "STRICT");
}

TEST(CohereRequest, WhatCohereCannotExpressIsA400NamingTheField) {
  const std::string msgs = R"("messages":[{"role":"user","content":"hi"}])";
  struct Case {
    std::string body, param;
  } cases[] = {
      {"{" + msgs + R"(,"n":2})", "n"},
      {"{" + msgs + R"(,"logprobs":true})", "logprobs"},
      {"{" + msgs + R"(,"tool_choice":{"type":"function","function":{"name":"f"}}})", "tool_choice"},
      {R"({"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]})", "messages[0].content[0].type"},
      {R"({"messages":[{"role":"tool","content":"x"}]})", "messages[0].tool_call_id"},
  };
  for (const auto& c : cases) {
    std::string out;
    auto done = translate_cohere_chat_request(c.body, "m", false, {}, out);
    ASSERT_FALSE(done) << c.body;
    EXPECT_EQ(done.error().param, c.param) << c.body << ": " << done.error().message;
  }
}

TEST(CohereRequest, EmbeddingsNeedAnInputType) {
  std::string out;
  ASSERT_TRUE(translate_cohere_embed_request(R"({"input":"hello","dimensions":512})", "embed-v4.0", {}, out));
  auto r = bj::parse(out).as_object();
  EXPECT_EQ(r["texts"].as_array().at(0), "hello");
  EXPECT_EQ(r["input_type"], "search_document");
  EXPECT_EQ(r["output_dimension"].as_int64(), 512);
  out.clear();
  ASSERT_TRUE(translate_cohere_embed_request(R"({"input":["a"]})", "e", {{"input_type", R"("search_query")"}}, out));
  EXPECT_EQ(bj::parse(out).at("input_type"), "search_query");
}

TEST(CohereProviderTest, UrlsFromTheApiRoot) {
  for (const char* base : {"https://api.cohere.com", "https://api.cohere.com/v2/", "https://api.cohere.com/v1"}) {
    ProviderConfig c;
    c.id = "co";
    c.type = "cohere";
    c.base_url = base;
    CohereProvider p(c);
    EXPECT_EQ(p.endpoint_url(Endpoint::chat_completions), "https://api.cohere.com/v2/chat") << base;
    EXPECT_EQ(p.endpoint_url(Endpoint::embeddings), "https://api.cohere.com/v2/embed") << base;
    EXPECT_EQ(p.endpoint_url(Endpoint::models), "https://api.cohere.com/v1/models") << base;
  }
}

// The reference: Cohere's events read with Boost.JSON.
Assembled expected_from_cohere(const std::vector<std::string>& events) {
  Assembled a;
  for (const auto& line : events) {
    auto e = bj::parse(line).as_object();
    std::string_view type = e["type"].as_string();
    if (type == "message-start") a.id = e["id"].as_string();
    auto* delta = e.if_contains("delta");
    auto* message = delta && delta->as_object().contains("message") ? &delta->at("message").as_object() : nullptr;
    if (type == "content-delta") a.text += message->at("content").at("text").as_string();
    if (type == "tool-plan-delta") a.reasoning += message->at("tool_plan").as_string();
    if (type == "tool-call-start") {
      auto& call = message->at("tool_calls").as_object();
      a.calls.push_back({std::string(call.at("id").as_string()), std::string(call.at("function").at("name").as_string()), ""});
    }
    if (type == "tool-call-delta") a.calls.back().arguments += message->at("tool_calls").at("function").at("arguments").as_string();
    if (type == "message-end") {
      auto& d = delta->as_object();
      std::string_view reason = d.at("finish_reason").as_string();
      a.finish = reason == "TOOL_CALL" ? "tool_calls" : reason == "MAX_TOKENS" ? "length" : "stop";
      a.prompt_tokens = d.at("usage").at("billed_units").at("input_tokens").to_number<int64_t>();
      a.completion_tokens = d.at("usage").at("billed_units").at("output_tokens").to_number<int64_t>();
      a.done = true;
    }
  }
  return a;
}

std::string sse_body(const std::string& jsonl_text) {
  std::string body;
  for (const auto& line : jsonl(jsonl_text)) {
    auto type = bj::parse(line).at("type").as_string();
    body += "event: " + std::string(type) + "\ndata: " + line + "\n\n";
  }
  return body;
}

std::string translate_split(const std::string& body, size_t at, ResponseDecoder& decoder) {
  http::SseParser parser;
  OpenAIChunkWriter writer;
  std::string out;
  decoder.reset();
  writer.begin(&out, 1700000000, true);
  auto on_event = [&](const http::SseEvent& event) {
    if (auto decoded = decoder.decode_event(event, writer); !decoded) writer.fail(decoded.error());
    return !writer.ended();
  };
  if (parser.feed(std::string_view(body).substr(0, at), on_event)) parser.feed(std::string_view(body).substr(at), on_event);
  return out;
}

class CohereRecordedStream : public ::testing::TestWithParam<const char*> {};

TEST_P(CohereRecordedStream, TranslatesToTheSameAnswerInOpenAIChunks) {
  std::string text = fixture(GetParam());
  auto decoder = make_cohere_decoder();
  Assembled got = assemble_openai(translate_split(sse_body(text), sse_body(text).size(), *decoder));
  Assembled want = expected_from_cohere(jsonl(text));
  want.model = got.model;  // Cohere's events do not name the model
  test::expect_same(want, got);
  EXPECT_TRUE(got.done);
}

TEST_P(CohereRecordedStream, EverySplitOfTheBytesGivesTheSameChunks) {
  std::string body = sse_body(fixture(GetParam()));
  auto decoder = make_cohere_decoder();
  std::string whole = translate_split(body, body.size(), *decoder);
  for (size_t at = 0; at <= body.size(); ++at) ASSERT_EQ(translate_split(body, at, *decoder), whole) << "split at " << at;
}

INSTANTIATE_TEST_SUITE_P(Cohere, CohereRecordedStream,
                         ::testing::Values("chat-v2-stream-text.chunks.jsonl", "chat-v2-stream-tool-call.chunks.jsonl"));

TEST(CohereStream, AnErrorFinishIsAnErrorEventAndBrokenArgumentsAreRefused) {
  auto decoder = make_cohere_decoder();
  std::string text = fixture("chat-v2-stream-text.chunks.jsonl");
  std::string body = sse_body(text);
  body = body.substr(0, body.rfind("event: message-end"));
  std::string error_body = body + "data: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"ERROR\"}}\n\n";
  Assembled got = assemble_openai(translate_split(error_body, error_body.size(), *decoder));
  EXPECT_FALSE(got.done);
  EXPECT_FALSE(got.error_message.empty());
  EXPECT_EQ(got.text, "The capital of France is Paris.");
  EXPECT_FALSE(assemble_openai(translate_split(body, body.size(), *decoder)).done);  // cut before message-end

  std::string start = R"(data: {"type":"message-start","id":"x"})" "\n\n";
  std::string broken = start + R"(data: {"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"c","type":"function","function":{"name":"f","arguments":"[1"}}}}})" "\n\n";
  EXPECT_FALSE(assemble_openai(translate_split(broken, broken.size(), *decoder)).error_message.empty());
}

TEST(CohereBody, TextAndToolCallResponsesAndEmbeddings) {
  auto decoder = make_cohere_decoder();
  ChatResponse r;
  ASSERT_TRUE(decoder->decode_body(fixture("chat-v2-nonstream.json"), r));
  std::string out;
  write_chat_completion(r, 1700000000, out);
  auto v = bj::parse(out).as_object();
  EXPECT_EQ(v["id"], "e7592632-1e3d-424f-b129-bd5f9f980f7b");
  EXPECT_EQ(v["choices"].at(0).at("message").at("content"), "The capital of France is Paris.");
  EXPECT_EQ(v["choices"].at(0).at("finish_reason"), "stop");
  EXPECT_EQ(v["usage"].at("prompt_tokens").as_int64(), 12);  // billed units
  EXPECT_EQ(v["usage"].at("completion_tokens").as_int64(), 7);

  ASSERT_TRUE(decoder->decode_body(fixture("chat-v2-nonstream-tool-call.json"), r));
  out.clear();
  write_chat_completion(r, 1700000000, out);
  auto tools = bj::parse(out).as_object();
  auto want = bj::parse(fixture("chat-v2-nonstream-tool-call.json")).as_object();
  auto& message = tools["choices"].at(0).at("message").as_object();
  EXPECT_EQ(tools["choices"].at(0).at("finish_reason"), "tool_calls");
  EXPECT_EQ(message.at("reasoning_content"), want["message"].at("tool_plan"));
  ASSERT_EQ(message.at("tool_calls").as_array().size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(message.at("tool_calls").at(i).at("id"), want["message"].at("tool_calls").at(i).at("id"));
    EXPECT_EQ(message.at("tool_calls").at(i).at("function").at("arguments"),
              want["message"].at("tool_calls").at(i).at("function").at("arguments"));
  }

  std::string embeddings;
  json::Usage usage;
  ASSERT_TRUE(decoder->decode_embeddings(fixture("embed.json"), "embed-v4.0", embeddings, usage));
  auto e = bj::parse(embeddings).as_object();
  auto source = bj::parse(fixture("embed.json")).as_object();
  ASSERT_EQ(e["data"].as_array().size(), 2u);
  EXPECT_EQ(e["data"].at(1).at("embedding"), source["embeddings"].at("float").at(1));
  EXPECT_EQ(usage.prompt_tokens, 10);
}

// The recorded usage has cached_tokens beside billed_units and tokens: it comes back as OpenAI's
// prompt_tokens_details.cached_tokens, in the body and in the stream's last chunk.
TEST(CohereUsage, CachedTokensBecomePromptTokensDetailsPlainAndStreamed) {
  auto decoder = make_cohere_decoder();
  auto recorded = bj::parse(fixture("chat-v2-nonstream.json")).as_object();
  int64_t want = recorded["usage"].at("cached_tokens").to_number<int64_t>();
  ASSERT_GT(want, 0);
  ChatResponse r;
  ASSERT_TRUE(decoder->decode_body(fixture("chat-v2-nonstream.json"), r));
  std::string out;
  write_chat_completion(r, 1700000000, out);
  auto body = bj::parse(out).as_object();
  EXPECT_EQ(body["usage"].at("prompt_tokens_details").at("cached_tokens").to_number<int64_t>(), want) << out;

  std::string text = fixture("chat-v2-stream-text.chunks.jsonl");
  auto last = bj::parse(jsonl(text).back()).as_object();
  int64_t streamed_want = last["delta"].at("usage").at("cached_tokens").to_number<int64_t>();
  std::string sse = translate_split(sse_body(text), sse_body(text).size(), *decoder);
  int64_t got = -1;
  http::SseParser parser;
  parser.feed(sse, [&](const http::SseEvent& event) {
    if (event.data == "[DONE]") return true;
    auto chunk = bj::parse(event.data).as_object();
    if (auto* u = chunk.if_contains("usage"); u && u->is_object())
      got = u->at("prompt_tokens_details").at("cached_tokens").to_number<int64_t>();
    return true;
  });
  EXPECT_EQ(got, streamed_want) << sse;
}

TEST(CohereProviderTest, ErrorBodiesKeepCoheresMessage) {
  ProviderConfig c;
  c.id = "co";
  c.type = "cohere";
  c.base_url = "https://api.cohere.com";
  CohereProvider p(c);
  Error e = p.decode_error(404, fixture("embed-error-404.json"), "");
  EXPECT_EQ(e.http_status, 404);
  EXPECT_NE(e.message.find("model 'nonexistent' not found"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace llmux::providers
