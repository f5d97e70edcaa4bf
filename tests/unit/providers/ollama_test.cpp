// The Ollama native adapter: OpenAI requests into /api/chat and /api/embed requests, and /api/chat
// bodies and recorded NDJSON streams (shared/fixtures/providers/ollama) back into OpenAI's format.
// Expected values are computed from the fixtures with Boost.JSON, independently of the adapter's
// simdjson code.
#include "providers/ollama/ollama.hpp"

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
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/ollama/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bj::object translate(const std::string& openai_body, const json::JsonMembers& defaults = {}, bool stream = false) {
  std::string out;
  auto done = translate_ollama_chat_request(openai_body, "llama3.2", stream, defaults, out);
  EXPECT_TRUE(done) << (done ? "" : done.error().message);
  boost::system::error_code ec;
  auto v = bj::parse(out, ec);
  EXPECT_FALSE(ec) << out;
  return ec || !v.is_object() ? bj::object{} : v.as_object();
}

Error translate_error(const std::string& openai_body) {
  std::string out;
  auto done = translate_ollama_chat_request(openai_body, "llama3.2", false, {}, out);
  EXPECT_FALSE(done) << out;
  return done ? Error{} : done.error();
}

// --- requests --------------------------------------------------------------------------------

TEST(OllamaRequest, MessagesModelAndStreamFlag) {
  auto r = translate(R"({"model":"x","messages":[{"role":"system","content":"be brief"},
    {"role":"developer","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
    {"role":"user","content":"hi"},{"role":"assistant","content":null},{"role":"user","content":"again"}]})",
                     {}, true);
  EXPECT_EQ(r["model"], "llama3.2");
  EXPECT_EQ(r["stream"], true);
  auto& m = r["messages"].as_array();
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0].as_object().at("role"), "system");
  EXPECT_EQ(m[0].as_object().at("content"), "be brief");
  EXPECT_EQ(m[1].as_object().at("role"), "system");
  EXPECT_EQ(m[1].as_object().at("content"), "a\nb");
  EXPECT_EQ(m[3].as_object().at("role"), "assistant");
  EXPECT_EQ(m[3].as_object().at("content"), "");
  EXPECT_EQ(m[4].as_object().at("content"), "again");
  EXPECT_FALSE(r.contains("options"));
}

TEST(OllamaRequest, SamplingFieldsBecomeOptionsAndDefaultsFillIn) {
  auto r = translate(R"({"model":"x","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"top_p":0.9,
    "seed":7,"max_tokens":64,"stop":"END","presence_penalty":0.5,"frequency_penalty":0.25})",
                     json::JsonMembers{{"options", R"({"num_ctx":8192,"temperature":1.5})"}, {"keep_alive", R"("5m")"}});
  auto& o = r["options"].as_object();
  EXPECT_EQ(o.at("temperature").as_double(), 0.2);  // the client's value wins over the default
  EXPECT_EQ(o.at("top_p").as_double(), 0.9);
  EXPECT_EQ(o.at("seed").as_int64(), 7);
  EXPECT_EQ(o.at("num_predict").as_int64(), 64);
  EXPECT_EQ(o.at("stop").as_array().at(0), "END");
  EXPECT_EQ(o.at("presence_penalty").as_double(), 0.5);
  EXPECT_EQ(o.at("frequency_penalty").as_double(), 0.25);
  EXPECT_EQ(o.at("num_ctx").as_int64(), 8192);
  EXPECT_EQ(r["keep_alive"], "5m");
  auto max_completion = translate(R"({"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":9,"stop":["a","b"]})");
  EXPECT_EQ(max_completion["options"].as_object().at("num_predict").as_int64(), 9);
  EXPECT_EQ(max_completion["options"].as_object().at("stop").as_array().size(), 2u);
}

TEST(OllamaRequest, ResponseFormatAndReasoningEffort) {
  auto json_mode = translate(R"({"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}})");
  EXPECT_EQ(json_mode["format"], "json");
  auto request = bj::parse(fixture("v1-chat-completions-nonstream.request.json")).as_object();
  auto schema = translate(bj::serialize(request));
  EXPECT_EQ(schema["format"], request["response_format"].as_object()["json_schema"].as_object()["schema"]);
  EXPECT_EQ(translate(R"({"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"high"})")["think"], true);
  EXPECT_EQ(translate(R"({"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"none"})")["think"], false);
}

TEST(OllamaRequest, ToolsToolCallsAndResultsByName) {
  auto request = bj::parse(fixture("api-chat-stream-tools.docs.request.json")).as_object();
  auto r = translate(bj::serialize(request));
  EXPECT_EQ(r["tools"], request["tools"]);  // Ollama reads OpenAI's tool objects as they are
  auto loop = translate(R"({"messages":[{"role":"user","content":"weather?"},
    {"role":"assistant","content":"","tool_calls":[{"id":"ollama_0","type":"function",
      "function":{"name":"get_weather","arguments":"{\"city\": \"Tokyo\"}"}}]},
    {"role":"tool","tool_call_id":"ollama_0","content":"sunny"}],"tools":[{"type":"function","function":{"name":"get_weather"}}],
    "tool_choice":"auto"})");
  auto& m = loop["messages"].as_array();
  auto& call = m[1].as_object().at("tool_calls").as_array().at(0).as_object().at("function").as_object();
  EXPECT_EQ(call.at("name"), "get_weather");
  EXPECT_EQ(call.at("arguments"), bj::parse(R"({"city":"Tokyo"})"));  // an object, not a string
  EXPECT_EQ(m[2].as_object().at("role"), "tool");
  EXPECT_EQ(m[2].as_object().at("tool_name"), "get_weather");
  EXPECT_EQ(m[2].as_object().at("content"), "sunny");
  auto none = translate(R"({"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],
    "tool_choice":"none"})");
  EXPECT_FALSE(none.contains("tools"));
}

TEST(OllamaRequest, ImagesGoInlineAsBase64) {
  auto r = translate(R"({"messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},
    {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]})");
  auto& m = r["messages"].as_array().at(0).as_object();
  EXPECT_EQ(m.at("content"), "what is this?");
  EXPECT_EQ(m.at("images").as_array().at(0), "iVBORw0KGgo=");
}

TEST(OllamaRequest, WhatOllamaCannotExpressIsA400NamingTheField) {
  const std::string msgs = R"("messages":[{"role":"user","content":"hi"}])";
  struct Case {
    std::string body, param;
  } cases[] = {
      {"{" + msgs + R"(,"n":2})", "n"},
      {"{" + msgs + R"(,"logprobs":true})", "logprobs"},
      {"{" + msgs + R"(,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"})", "tool_choice"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/cat.png"}}]}]})",
       "messages[0].content[0].image_url.url"},
      {R"({"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]})", "messages[0].content[0].type"},
      {R"({"messages":[{"role":"tool","tool_call_id":"nope","content":"x"}]})", "messages[0].tool_call_id"},
      {"{" + msgs + R"(,"response_format":{"type":"grammar"}})", "response_format"},
  };
  for (const auto& c : cases) {
    Error e = translate_error(c.body);
    EXPECT_EQ(e.kind, ErrorKind::invalid_request) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body << ": " << e.message;
  }
}

TEST(OllamaRequest, EmbeddingsInputAndDimensions) {
  std::string out;
  ASSERT_TRUE(translate_ollama_embed_request(R"({"model":"e","input":["a","b"],"dimensions":256})", "nomic", out));
  auto r = bj::parse(out).as_object();
  EXPECT_EQ(r["model"], "nomic");
  EXPECT_EQ(r["input"].as_array().size(), 2u);
  EXPECT_EQ(r["dimensions"].as_int64(), 256);
  out.clear();
  auto tokens = translate_ollama_embed_request(R"({"input":[[1,2,3]]})", "nomic", out);
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().param, "input");
}

TEST(OllamaProviderTest, UrlsFromTheServersRootWhateverTheBaseUrlEnds) {
  for (const char* base : {"http://h:11434", "http://h:11434/", "http://h:11434/v1", "http://h:11434/api/"}) {
    ProviderConfig c;
    c.id = "o";
    c.type = "ollama";
    c.base_url = base;
    OllamaProvider p(c);
    EXPECT_EQ(p.endpoint_url(Endpoint::chat_completions), "http://h:11434/api/chat") << base;
    EXPECT_EQ(p.endpoint_url(Endpoint::embeddings), "http://h:11434/api/embed") << base;
    EXPECT_EQ(p.list_models_request().url, "http://h:11434/api/tags") << base;
  }
}

TEST(OllamaProviderTest, ErrorBodiesKeepOllamasMessage) {
  ProviderConfig c;
  c.id = "o";
  c.type = "ollama";
  c.base_url = "http://h:11434";
  OllamaProvider p(c);
  Error e = p.decode_error(500, fixture("error.docs.json"), "");
  EXPECT_NE(e.message.find("the model failed to generate a response"), std::string::npos) << e.message;
  EXPECT_EQ(e.http_status, 500);
}

// --- responses -------------------------------------------------------------------------------

// The reference: Ollama message objects read with Boost.JSON.
Assembled expected_from_ollama(const std::vector<std::string>& lines) {
  Assembled a;
  for (const auto& line : lines) {
    auto e = bj::parse(line).as_object();
    if (auto* err = e.if_contains("error")) {
      a.error_message = err->as_string();
      a.error_type = "upstream_error";
      break;
    }
    if (a.model.empty()) a.model = e["model"].as_string();
    if (auto* m = e.if_contains("message")) {
      auto& message = m->as_object();
      if (auto* t = message.if_contains("content")) a.text += t->as_string();
      if (auto* t = message.if_contains("thinking")) a.reasoning += t->as_string();
      if (auto* calls = message.if_contains("tool_calls"))
        for (auto& c : calls->as_array()) {
          auto& f = c.as_object().at("function").as_object();
          a.calls.push_back({"ollama_" + std::to_string(a.calls.size()), std::string(f.at("name").as_string()),
                             bj::serialize(f.at("arguments"))});
        }
    }
    if (e.contains("done") && e["done"].as_bool()) {
      std::string_view reason = e.contains("done_reason") ? e["done_reason"].as_string().subview() : "stop";
      a.finish = reason == "length" ? "length" : a.calls.empty() ? "stop" : "tool_calls";
      a.prompt_tokens = e.contains("prompt_eval_count") ? e["prompt_eval_count"].to_number<int64_t>() : 0;
      a.completion_tokens = e.contains("eval_count") ? e["eval_count"].to_number<int64_t>() : 0;
      a.done = true;
      break;
    }
  }
  return a;
}

// The raw NDJSON body fed in two pieces split at `at`, through the parser as the server reads it.
std::string translate_split(const std::string& body, size_t at, ResponseDecoder& decoder) {
  http::SseParser parser;
  parser.reset(decoder.ndjson_stream());
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

void expect_same_answer(Assembled want, Assembled got) {
  EXPECT_TRUE(got.id.starts_with("chatcmpl-")) << got.id;
  want.id = got.id;  // Ollama sends none; the adapter makes one
  for (auto* a : {&want, &got})
    for (auto& call : a->calls) call.arguments = bj::serialize(bj::parse(call.arguments));
  test::expect_same(want, got);
}

class OllamaRecordedStream : public ::testing::TestWithParam<const char*> {};

TEST_P(OllamaRecordedStream, TranslatesToTheSameAnswerInOpenAIChunks) {
  std::string body = fixture(GetParam());
  auto decoder = make_ollama_decoder();
  std::string out = translate_split(body, body.size(), *decoder);
  Assembled got = assemble_openai(out);
  expect_same_answer(expected_from_ollama(jsonl(body)), got);
  EXPECT_TRUE(got.done) << out;
}

TEST_P(OllamaRecordedStream, EverySplitOfTheBytesGivesTheSameChunks) {
  std::string body = fixture(GetParam());
  auto decoder = make_ollama_decoder();
  auto normalized = [](std::string out) {  // the made id differs per answer
    auto a = assemble_openai(out);
    for (size_t at = out.find(a.id); at != std::string::npos; at = out.find(a.id, at)) out.replace(at, a.id.size(), "ID");
    return out;
  };
  std::string whole = normalized(translate_split(body, body.size(), *decoder));
  for (size_t at = 0; at <= body.size(); ++at)
    ASSERT_EQ(normalized(translate_split(body, at, *decoder)), whole) << "split at " << at;
}

INSTANTIATE_TEST_SUITE_P(Ollama, OllamaRecordedStream,
                         ::testing::Values("api-chat-stream.docs.ndjson", "api-chat-stream-tools.docs.ndjson"));

TEST(OllamaStream, AnErrorLineMidStreamEndsItWithAnOpenAIErrorAndNoDone) {
  std::string body = fixture("api-chat-stream.docs.ndjson");
  body = body.substr(0, body.find('\n') + 1) + R"({"error":"an error was encountered while running the model"})" + "\n";
  auto decoder = make_ollama_decoder();
  Assembled got = assemble_openai(translate_split(body, body.size(), *decoder));
  EXPECT_EQ(got.text, "The");
  EXPECT_EQ(got.error_message, "an error was encountered while running the model");
  EXPECT_FALSE(got.done);
}

TEST(OllamaStream, AStreamWithoutItsDoneLineIsNotDone) {
  std::string body = fixture("api-chat-stream.docs.ndjson");
  body = body.substr(0, body.find('\n') + 1);
  auto decoder = make_ollama_decoder();
  EXPECT_FALSE(assemble_openai(translate_split(body, body.size(), *decoder)).done);
}

TEST(OllamaStream, MalformedLinesAreErrorsNeverBrokenJson) {
  auto decoder = make_ollama_decoder();
  for (std::string line : {R"({"message":{"content":)", R"({"message":{"content":"bad \q escape"}})",
                           R"({"message":{"tool_calls":[{"function":{"name":"f","arguments":{"a":tru}}}]}})", "[1,2"}) {
    std::string out = translate_split(line + "\n", 0, *decoder);
    auto got = assemble_openai(out);  // every chunk parses
    EXPECT_FALSE(got.error_message.empty()) << line;
  }
}

TEST(OllamaBody, TextAndToolCallResponses) {
  auto decoder = make_ollama_decoder();
  for (const char* name : {"api-chat-nonstream.docs.json", "api-chat-nonstream-tools.docs.json"}) {
    std::string body = fixture(name);
    ChatResponse r;
    ASSERT_TRUE(decoder->decode_body(body, r)) << name;
    std::string out;
    write_chat_completion(r, 1700000000, out);
    auto v = bj::parse(out).as_object();
    auto want = expected_from_ollama({bj::serialize(bj::parse(body))});
    auto& choice = v["choices"].as_array().at(0).as_object();
    auto& message = choice["message"].as_object();
    EXPECT_EQ(choice["finish_reason"].as_string(), want.finish) << name;
    EXPECT_EQ(v["model"].as_string(), want.model);
    if (want.text.empty()) EXPECT_TRUE(message["content"].is_null());
    else EXPECT_EQ(message["content"].as_string(), want.text);
    if (!want.calls.empty()) {
      auto& call = message["tool_calls"].as_array().at(0).as_object();
      EXPECT_EQ(call.at("id"), "ollama_0");
      EXPECT_EQ(bj::parse(call.at("function").as_object().at("arguments").as_string()), bj::parse(want.calls[0].arguments));
    }
    EXPECT_EQ(v["usage"].as_object()["prompt_tokens"].to_number<int64_t>(), want.prompt_tokens);
    EXPECT_EQ(v["usage"].as_object()["completion_tokens"].to_number<int64_t>(), want.completion_tokens);
  }
}

TEST(OllamaBody, EmbeddingsBecomeOpenAIsList) {
  auto decoder = make_ollama_decoder();
  std::string out;
  json::Usage usage;
  ASSERT_TRUE(decoder->decode_embeddings(
      R"({"model":"all-minilm","embeddings":[[0.010071029, -0.0017594862],[0.5,1e-3]],"prompt_eval_count":8})", "all-minilm",
      out, usage));
  auto v = bj::parse(out).as_object();
  EXPECT_EQ(v["object"], "list");
  auto& data = v["data"].as_array();
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[1].as_object().at("index").as_int64(), 1);
  EXPECT_EQ(data[0].as_object().at("embedding").as_array().at(0).as_double(), 0.010071029);
  EXPECT_EQ(usage.prompt_tokens, 8);
  EXPECT_EQ(v["usage"].as_object()["total_tokens"].as_int64(), 8);
  out.clear();
  EXPECT_FALSE(decoder->decode_embeddings(R"({"embeddings":[[1,2,]]})", "m", out, usage));
}

}  // namespace
}  // namespace llmux::providers
