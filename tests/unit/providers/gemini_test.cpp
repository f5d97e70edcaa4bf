// The Gemini adapter: OpenAI requests into GenerateContent requests, and GenerateContent
// responses and recorded streams (shared/fixtures/providers/gemini) back into OpenAI's format.
// Expected values are computed from the fixtures with Boost.JSON, independently of the adapter's
// simdjson code.
#include "providers/gemini/gemini.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
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
using test::sse_data;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/gemini/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bj::object translate(const std::string& openai_body, const json::JsonMembers& defaults = {},
                     std::string_view model = "gemini-2.5-flash") {
  std::string out;
  auto done = translate_gemini_request(openai_body, model, defaults, out);
  EXPECT_TRUE(done) << (done ? "" : done.error().message);
  boost::system::error_code ec;
  auto v = bj::parse(out, ec);
  EXPECT_FALSE(ec) << out;
  return ec || !v.is_object() ? bj::object{} : v.as_object();
}

Error translate_error(const std::string& openai_body, std::string_view model = "gemini-2.5-flash") {
  std::string out;
  auto done = translate_gemini_request(openai_body, model, {}, out);
  EXPECT_FALSE(done) << out;
  return done ? Error{} : done.error();
}

// --- requests --------------------------------------------------------------------------------

TEST(GeminiRequest, RolesAndSystemInstruction) {
  auto r = translate(R"({"model":"m","messages":[
    {"role":"system","content":"Be brief."},
    {"role":"user","content":"Hi \"there\"\n"},
    {"role":"assistant","content":"Hello."},
    {"role":"developer","content":[{"type":"text","text":"Use metric units."}]},
    {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]})");
  EXPECT_EQ(r["systemInstruction"], bj::parse(R"({"parts":[{"text":"Be brief."},{"text":"Use metric units."}]})"));
  EXPECT_EQ(r["contents"], bj::parse(R"([{"role":"user","parts":[{"text":"Hi \"there\"\n"}]},
    {"role":"model","parts":[{"text":"Hello."}]},{"role":"user","parts":[{"text":"a"},{"text":"b"}]}])"));
  EXPECT_FALSE(r.contains("generationConfig"));
  EXPECT_FALSE(r.contains("tools"));
  EXPECT_FALSE(r.contains("model"));  // the model is in the URL
}

TEST(GeminiRequest, GenerationConfigFieldByField) {
  auto r = translate(R"({"max_completion_tokens":77,"temperature":0.5,"top_p":0.9,"top_k":4,"seed":7,
    "presence_penalty":0.1,"frequency_penalty":0.2,"stop":"END","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r["generationConfig"], bj::parse(R"({"temperature":0.5,"topP":0.9,"topK":4,"seed":7,
    "presencePenalty":0.1,"frequencyPenalty":0.2,"maxOutputTokens":77,"stopSequences":["END"]})"));
  auto g = translate(R"({"max_tokens":5,"stop":["a","b"],"messages":[{"role":"user","content":"x"}]})")["generationConfig"];
  EXPECT_EQ(g, bj::parse(R"({"maxOutputTokens":5,"stopSequences":["a","b"]})"));
}

TEST(GeminiRequest, ResponseFormatBecomesMimeTypeAndSchema) {
  auto json_mode = translate(R"({"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(json_mode["generationConfig"], bj::parse(R"({"responseMimeType":"application/json"})"));
  auto schema = translate(R"({"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":
    {"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false}}},"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(schema["generationConfig"], bj::parse(R"({"responseMimeType":"application/json","responseJsonSchema":
    {"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false}})"));
  EXPECT_FALSE(translate(R"({"response_format":{"type":"text"},"messages":[{"role":"user","content":"x"}]})")
                   .contains("generationConfig"));
}

TEST(GeminiRequest, ToolsBecomeFunctionDeclarationsAndToolChoiceToolConfig) {
  auto r = translate(R"({"messages":[{"role":"user","content":"x"}],"tools":[
    {"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
    {"type":"function","function":{"name":"now"}}],"tool_choice":"required"})");
  EXPECT_EQ(r["tools"], bj::parse(R"([{"functionDeclarations":[
    {"name":"get_weather","description":"Weather","parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"}}}},
    {"name":"now"}]}])"));
  EXPECT_EQ(r["toolConfig"], bj::parse(R"({"functionCallingConfig":{"mode":"ANY"}})"));
  auto mode = [](const std::string& choice) {
    return translate(R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":)" +
                     choice + "}")["toolConfig"];
  };
  EXPECT_EQ(mode(R"("none")"), bj::parse(R"({"functionCallingConfig":{"mode":"NONE"}})"));
  EXPECT_EQ(mode(R"("auto")"), bj::parse(R"({"functionCallingConfig":{"mode":"AUTO"}})"));
  EXPECT_EQ(mode(R"({"type":"function","function":{"name":"f"}})"),
            bj::parse(R"({"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}})"));
}

TEST(GeminiRequest, ToolCallsAndResultsBecomeFunctionCallAndFunctionResponse) {
  auto r = translate(R"({"messages":[{"role":"user","content":"Weather?"},
    {"role":"assistant","content":null,"tool_calls":[
      {"id":"gemini_0_c2lnbmF0dXJl","type":"function","function":{"name":"weather","arguments":"{\"city\": \"Paris\"}"}},
      {"id":"call_from_gemini","type":"function","function":{"name":"time","arguments":""}}]},
    {"role":"tool","tool_call_id":"gemini_0_c2lnbmF0dXJl","content":"{\"temp\":21}"},
    {"role":"tool","tool_call_id":"call_from_gemini","content":"noon"},
    {"role":"user","content":"Thanks"}]})");
  EXPECT_EQ(r["contents"], bj::parse(R"([
    {"role":"user","parts":[{"text":"Weather?"}]},
    {"role":"model","parts":[
      {"functionCall":{"name":"weather","args":{"city":"Paris"}},"thoughtSignature":"c2lnbmF0dXJl"},
      {"functionCall":{"name":"time","args":{},"id":"call_from_gemini"}}]},
    {"role":"user","parts":[
      {"functionResponse":{"name":"weather","response":{"temp":21}}},
      {"functionResponse":{"name":"time","id":"call_from_gemini","response":{"result":"noon"}}}]},
    {"role":"user","parts":[{"text":"Thanks"}]}])"));
}

TEST(GeminiRequest, ImagePartsBecomeInlineOrFileData) {
  auto r = translate(R"({"messages":[{"role":"user","content":[
    {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0K"}},
    {"type":"image_url","image_url":{"url":"https://generativelanguage.googleapis.com/v1beta/files/abc"}}]}]})");
  EXPECT_EQ(r["contents"], bj::parse(R"([{"role":"user","parts":[
    {"inlineData":{"mimeType":"image/png","data":"iVBORw0K"}},
    {"fileData":{"fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc"}}]}])"));
}

TEST(GeminiRequest, DefaultParamsAreWrittenInGeminisTerms) {
  json::JsonMembers defaults = {{"safetySettings", R"([{"category":"HARM_CATEGORY_HATE_SPEECH","threshold":"BLOCK_NONE"}])"},
                                {"generationConfig", R"({"temperature":1})"}};
  auto r = translate(R"({"temperature":0.2,"messages":[{"role":"user","content":"x"}]})", defaults);
  EXPECT_EQ(r["safetySettings"].as_array().size(), 1u);
  EXPECT_EQ(r["generationConfig"], bj::parse(R"({"temperature":0.2})"));  // the request's own wins
  EXPECT_EQ(translate(R"({"messages":[{"role":"user","content":"x"}]})", defaults)["generationConfig"],
            bj::parse(R"({"temperature":1})"));
}

TEST(GeminiRequest, WhatGeminiCannotExpressIsA400NamingTheField) {
  struct Case {
    const char* body;
    const char* param;
  } cases[] = {
      {R"({"n":2,"messages":[{"role":"user","content":"x"}]})", "n"},
      {R"({"logprobs":true,"messages":[{"role":"user","content":"x"}]})", "logprobs"},
      {R"({"parallel_tool_calls":false,"messages":[{"role":"user","content":"x"}]})", "parallel_tool_calls"},
      {R"({"response_format":{"type":"xml"},"messages":[{"role":"user","content":"x"}]})", "response_format"},
      {R"({"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]})", "messages[0].content[0].type"},
      {R"({"messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"nope","content":"r"}]})",
       "messages[1].tool_call_id"},
      {R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"[1]"}}]}]})",
       "messages[0].tool_calls[0].function.arguments"},
      {R"({"messages":[{"role":"critic","content":"x"}]})", "messages[0].role"},
      {R"({"temperature":"hot","messages":[{"role":"user","content":"x"}]})", "temperature"},
      {R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search"}]})", "tools[0].type"},
      {R"({"messages":[]})", "messages"},
  };
  for (const auto& c : cases) {
    Error e = translate_error(c.body);
    EXPECT_EQ(e.http_status, 400) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body;
    EXPECT_NE(e.message.find(c.param), std::string::npos) << e.message;
  }
}

TEST(GeminiRequest, ModelSegment) {
  EXPECT_EQ(*gemini_model_segment("models/gemini-2.5-flash"), "gemini-2.5-flash");
  EXPECT_EQ(*gemini_model_segment("gemini-2.0-flash-exp"), "gemini-2.0-flash-exp");
  for (const char* bad : {"", "a/b", "x?alt=json", "m:generateContent", "a b"}) EXPECT_FALSE(gemini_model_segment(bad)) << bad;
}

// --- streams ---------------------------------------------------------------------------------

// The reference: Gemini responses read with Boost.JSON.
Assembled expected_from_gemini(const std::vector<std::string>& events) {
  Assembled a;
  bj::object streamed_args;
  std::string open_key;
  bool streaming_call = false;
  for (const auto& data : events) {
    auto e = bj::parse(data).as_object();
    if (auto* err = e.if_contains("error")) {
      a.error_message = err->as_object().at("message").as_string();
      a.error_type = "upstream_error";
      break;
    }
    if (a.id.empty()) {
      a.id = e["responseId"].as_string();
      a.model = e["modelVersion"].as_string();
    }
    if (auto* u = e.if_contains("usageMetadata")) {
      auto& uo = u->as_object();
      auto count = [&](const char* k) { return uo.contains(k) ? uo.at(k).to_number<int64_t>() : 0; };
      a.prompt_tokens = count("promptTokenCount") + count("toolUsePromptTokenCount");
      a.completion_tokens = count("candidatesTokenCount") + count("thoughtsTokenCount");
    }
    auto& candidate = e["candidates"].as_array().at(0).as_object();
    if (auto* content = candidate.if_contains("content")) {
      for (auto& p : content->as_object().at("parts").as_array()) {
        auto& part = p.as_object();
        if (auto* t = part.if_contains("text")) {
          bool thought = part.contains("thought") && part.at("thought").as_bool();
          (thought ? a.reasoning : a.text) += t->as_string();
        }
        auto* fc = part.if_contains("functionCall");
        if (!fc) continue;
        auto& call = fc->as_object();
        bool more = call.contains("willContinue") && call.at("willContinue").as_bool();
        if (!streaming_call) {
          std::string id = "gemini_" + std::to_string(a.calls.size());
          if (auto* sig = part.if_contains("thoughtSignature")) id += "_" + std::string(sig->as_string());
          a.calls.push_back({id, std::string(call.at("name").as_string()), ""});
          if (!more) {
            a.calls.back().arguments = call.contains("args") ? bj::serialize(call.at("args")) : "{}";
            continue;
          }
          streaming_call = true;
          streamed_args.clear();
        }
        if (auto* partial = call.if_contains("partialArgs")) {
          for (auto& pa : partial->as_array()) {
            auto& arg = pa.as_object();
            std::string key(arg.at("jsonPath").as_string().subview().substr(2));
            if (auto* s = arg.if_contains("stringValue")) {
              auto& slot = streamed_args[key];
              if (!slot.is_string()) slot = "";
              slot.as_string().append(s->as_string());
            }
          }
        }
        if (!more) {
          a.calls.back().arguments = bj::serialize(streamed_args);
          streaming_call = false;
        }
      }
    }
    if (auto* reason = candidate.if_contains("finishReason")) {
      a.finish = reason->as_string() == "MAX_TOKENS" ? "length"
                 : reason->as_string() == "SAFETY"   ? "content_filter"
                 : a.calls.empty()                   ? "stop"
                                                     : "tool_calls";
      a.done = true;
      break;
    }
  }
  if (!a.done) a.prompt_tokens = a.completion_tokens = -1;
  return a;
}

// Decodes events the way the server does: each event through the decoder into the writer; an
// event the decoder refuses ends the stream with an error event.
std::string translate_stream(const std::vector<std::string>& events, bool include_usage = true) {
  auto decoder = make_gemini_decoder();
  OpenAIChunkWriter writer;
  std::string out;
  decoder->reset();
  writer.begin(&out, 1700000000, include_usage);
  for (const auto& data : events) {
    if (writer.ended()) break;
    if (auto decoded = decoder->decode_event(http::SseEvent{"", data}, writer); !decoded) writer.fail(decoded.error());
  }
  return out;
}

// The raw stream body fed in two pieces split at `at`, through the SSE parser as the server reads it.
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

// Arguments are compared as JSON values: the reference serializes with Boost.JSON.
void expect_same_answer(const Assembled& want, const Assembled& got) {
  Assembled want_copy = want, got_copy = got;
  for (auto* a : {&want_copy, &got_copy})
    for (auto& call : a->calls) call.arguments = bj::serialize(bj::parse(call.arguments));
  test::expect_same(want_copy, got_copy);
}

std::vector<std::string> events_of(const std::string& name) {
  return name.ends_with(".jsonl") ? jsonl(fixture(name)) : sse_data(fixture(name));
}

// A chunks.jsonl fixture as the SSE body Google sends (CRLF CRLF between events).
std::string sse_body_of(const std::string& name) {
  if (!name.ends_with(".jsonl")) return fixture(name);
  std::string body;
  for (const auto& line : jsonl(fixture(name))) body += "data: " + line + "\r\n\r\n";
  return body;
}

class GeminiRecordedStream : public ::testing::TestWithParam<const char*> {};

TEST_P(GeminiRecordedStream, TranslatesToTheSameAnswerInOpenAIChunks) {
  auto events = events_of(GetParam());
  ASSERT_FALSE(events.empty());
  Assembled want = expected_from_gemini(events);
  std::string out = translate_stream(events);
  Assembled got = assemble_openai(out);
  expect_same_answer(want, got);
  EXPECT_TRUE(got.done) << out;
}

TEST_P(GeminiRecordedStream, EverySplitOfTheBytesGivesTheSameChunks) {
  std::string body = sse_body_of(GetParam());
  auto decoder = make_gemini_decoder();
  std::string whole = translate_split(body, body.size(), *decoder);
  ASSERT_TRUE(assemble_openai(whole).done);
  for (size_t at = 0; at <= body.size(); ++at) ASSERT_EQ(translate_split(body, at, *decoder), whole) << "split at " << at;
}

INSTANTIATE_TEST_SUITE_P(Gemini, GeminiRecordedStream,
                         ::testing::Values("stream-text.sse.txt", "stream-function-call.sse.txt",
                                           "stream-after-function-response.sse.txt", "stream-text.chunks.jsonl",
                                           "stream-function-call.chunks.jsonl",
                                           "stream-function-call-partial-args.chunks.jsonl"));

TEST(GeminiStream, ToolCallFinishAndGeneratedIdCarryTheSignature) {
  auto events = sse_data(fixture("stream-function-call.sse.txt"));
  Assembled got = assemble_openai(translate_stream(events));
  ASSERT_EQ(got.calls.size(), 1u);
  EXPECT_EQ(got.calls[0].name, "get_country");
  EXPECT_EQ(got.calls[0].arguments, "{}");
  EXPECT_TRUE(got.calls[0].id.starts_with("gemini_0_EpwICpkIAXLI2nxl")) << got.calls[0].id;
  EXPECT_EQ(got.finish, "tool_calls");
  EXPECT_EQ(got.prompt_tokens, 29);
  EXPECT_EQ(got.completion_tokens, 10 + 202);  // thinking counts as completion, as OpenAI's reasoning tokens do
}

TEST(GeminiStream, StreamedArgumentsArriveAsPiecesOfOneObject) {
  auto events = jsonl(fixture("stream-function-call-partial-args.chunks.jsonl"));
  Assembled got = assemble_openai(translate_stream(events));
  ASSERT_EQ(got.calls.size(), 2u);
  EXPECT_EQ(got.calls[0].arguments, R"({"location":"Boston"})");
  EXPECT_EQ(got.calls[1].arguments, R"({"location":"San Francisco"})");
  EXPECT_NE(got.calls[0].id, got.calls[1].id);
}

TEST(GeminiStream, ThoughtPartsAreReasoningAndEscapesPassThrough) {
  std::vector<std::string> events = {
      R"({"candidates":[{"content":{"parts":[{"text":"Let me think \"hard\"","thought":true}],"role":"model"}}],"responseId":"r1","modelVersion":"g"})",
      R"({"candidates":[{"content":{"parts":[{"text":"a \\ and\n\u00e9"}],"role":"model"},"finishReason":"MAX_TOKENS"}],
          "usageMetadata":{"promptTokenCount":10,"cachedContentTokenCount":4,"candidatesTokenCount":3,"thoughtsTokenCount":5,"toolUsePromptTokenCount":2}})"};
  Assembled got = assemble_openai(translate_stream(events));
  EXPECT_EQ(got.reasoning, "Let me think \"hard\"");
  EXPECT_EQ(got.text, "a \\ and\n\xC3\xA9");
  EXPECT_EQ(got.finish, "length");
  EXPECT_EQ(got.prompt_tokens, 12);
  EXPECT_EQ(got.completion_tokens, 8);
  EXPECT_EQ(got.id, "r1");
  // Cached and thinking tokens as OpenAI details them.
  std::string out = translate_stream(events);
  auto usage_at = out.find("\"usage\":{");
  ASSERT_NE(usage_at, std::string::npos) << out;
  auto chunk_end = out.find("\n\n", usage_at);
  auto chunk_start = out.rfind("data: ", usage_at) + 6;
  auto usage = bj::parse(out.substr(chunk_start, chunk_end - chunk_start)).as_object()["usage"].as_object();
  EXPECT_EQ(usage["prompt_tokens_details"], bj::parse(R"({"cached_tokens":4})"));
  EXPECT_EQ(usage["completion_tokens_details"], bj::parse(R"({"reasoning_tokens":5})"));
}

TEST(GeminiStream, SafetyFinishAndBlockedPromptAreContentFilter) {
  Assembled safety = assemble_openai(translate_stream(
      {R"({"candidates":[{"content":{"parts":[{"text":"I"}],"role":"model"},"finishReason":"SAFETY","safetyRatings":[]}],"responseId":"r"})"}));
  EXPECT_EQ(safety.finish, "content_filter");
  EXPECT_TRUE(safety.done);
  Assembled blocked = assemble_openai(translate_stream(
      {R"({"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":7},"responseId":"r"})"}));
  EXPECT_EQ(blocked.finish, "content_filter");
  EXPECT_TRUE(blocked.done);
  EXPECT_EQ(blocked.prompt_tokens, 7);
}

TEST(GeminiStream, AnErrorObjectMidStreamEndsItWithAnOpenAIErrorAndNoDone) {
  auto events = sse_data(fixture("stream-text.sse.txt"));
  events.resize(2);
  events.push_back(R"({"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}})");
  Assembled got = assemble_openai(translate_stream(events));
  EXPECT_EQ(got.text, "The capital of France");
  EXPECT_EQ(got.error_type, "upstream_error");
  EXPECT_EQ(got.error_message, "The model is overloaded.");
  EXPECT_FALSE(got.done);
  Assembled quota = assemble_openai(translate_stream({R"({"error":{"code":429,"message":"q","status":"RESOURCE_EXHAUSTED"}})"}));
  EXPECT_EQ(quota.error_type, "rate_limit_error");
}

TEST(GeminiStream, AStreamWithoutFinishReasonIsNotDone) {
  auto events = sse_data(fixture("stream-text.sse.txt"));
  events.pop_back();
  Assembled got = assemble_openai(translate_stream(events));
  EXPECT_FALSE(got.done);
  EXPECT_TRUE(got.error_type.empty());
}

TEST(GeminiStream, MalformedEventsAreErrorsNeverBrokenJson) {
  for (const char* data : {
           R"({"candidates":[{"content":{"parts":[{"text":"a\x"}]}}]})",
           R"({"candidates":[{"content":{"parts":[{"text":"a\u12"}]}}]})",
           R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":tru}}}]}}]})",
           R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":[1]}}]}}]})",
           R"({"candidates":[{"content":{"parts":[{"functionCall":{"args":{}}}]}}]})",
           R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","willContinue":true,"partialArgs":[{"jsonPath":"$.a.b","stringValue":"x"}]}}]}}]})",
           R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","willContinue":true}}]},"finishReason":"STOP"}]})",
           R"({"candidates":[{"content":{"parts":[{"text":"x"}]}}],"responseId":)",
           "not json"}) {
    std::string out = translate_stream({data});
    Assembled got = assemble_openai(out);  // every event valid JSON
    EXPECT_EQ(got.error_type.empty() ? "" : "error", "error") << data << " -> " << out;
    EXPECT_FALSE(got.done) << data;
  }
}

// --- whole responses -------------------------------------------------------------------------

bj::object translate_body(const std::string& body) {
  auto decoder = make_gemini_decoder();
  ChatResponse response;
  auto decoded = decoder->decode_body(body, response);
  EXPECT_TRUE(decoded) << body;
  std::string out;
  write_chat_completion(response, 1700000000, out);
  return bj::parse(out).as_object();
}

TEST(GeminiBody, TextResponse) {
  std::string body = fixture("generate-content.json");
  auto in = bj::parse(body).as_object();
  auto out = translate_body(body);
  EXPECT_EQ(out["object"], "chat.completion");
  EXPECT_EQ(out["id"], in["responseId"]);
  EXPECT_EQ(out["model"], in["modelVersion"]);
  auto& part = in["candidates"].as_array()[0].as_object()["content"].as_object()["parts"].as_array()[0].as_object();
  auto& choice = out["choices"].as_array()[0].as_object();
  EXPECT_EQ(choice["message"].as_object()["content"], part["text"]);
  EXPECT_EQ(choice["finish_reason"], "stop");
  auto& u = in["usageMetadata"].as_object();
  EXPECT_EQ(out["usage"].as_object()["prompt_tokens"], u["promptTokenCount"]);
  EXPECT_EQ(out["usage"].as_object()["completion_tokens"],
            u["candidatesTokenCount"].to_number<int64_t>() + u["thoughtsTokenCount"].to_number<int64_t>());
  EXPECT_EQ(out["usage"].as_object()["total_tokens"], u["totalTokenCount"]);
  EXPECT_EQ(out["usage"].as_object()["completion_tokens_details"].as_object()["reasoning_tokens"], u["thoughtsTokenCount"]);
  EXPECT_FALSE(out["usage"].as_object().contains("prompt_tokens_details"));  // no cachedContentTokenCount
}

TEST(GeminiBody, FunctionCallResponse) {
  std::string body = fixture("generate-content-function-call.json");
  auto in = bj::parse(body).as_object();
  auto out = translate_body(body);
  auto& choice = out["choices"].as_array()[0].as_object();
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  auto& message = choice["message"].as_object();
  EXPECT_TRUE(message["content"].is_null());
  auto& part = in["candidates"].as_array()[0].as_object()["content"].as_object()["parts"].as_array()[0].as_object();
  auto& call = message["tool_calls"].as_array().at(0).as_object();
  EXPECT_EQ(std::string(call["id"].as_string()), "gemini_0_" + std::string(part["thoughtSignature"].as_string()));
  EXPECT_EQ(call["function"].as_object()["name"], part["functionCall"].as_object()["name"]);
  EXPECT_EQ(bj::parse(call["function"].as_object()["arguments"].as_string()), part["functionCall"].as_object()["args"]);
}

TEST(GeminiBody, GeminisOwnIdsPassThroughAndEveryCallKeepsItsArguments) {
  auto out = translate_body(R"({"candidates":[{"content":{"parts":[
    {"functionCall":{"name":"a","args":{"x":1},"id":"fc-1"}},
    {"functionCall":{"name":"b","args":{"y":[2, 3]}}},
    {"functionCall":{"name":"c"}}]},"finishReason":"STOP"}],"responseId":"r"})");
  auto& calls = out["choices"].as_array()[0].as_object()["message"].as_object()["tool_calls"].as_array();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].as_object()["id"], "fc-1");
  EXPECT_EQ(calls[1].as_object()["id"], "gemini_1");
  EXPECT_EQ(calls[0].as_object()["function"].as_object()["arguments"], R"({"x":1})");
  EXPECT_EQ(calls[1].as_object()["function"].as_object()["arguments"], R"({"y":[2,3]})");
  EXPECT_EQ(calls[2].as_object()["function"].as_object()["arguments"], "{}");
}

TEST(GeminiBody, BlockedPromptAndSafetyAreContentFilter) {
  auto blocked = translate_body(R"({"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":3}})");
  EXPECT_EQ(blocked["choices"].as_array()[0].as_object()["finish_reason"], "content_filter");
  auto safety = translate_body(R"({"candidates":[{"finishReason":"SAFETY"}]})");
  EXPECT_EQ(safety["choices"].as_array()[0].as_object()["finish_reason"], "content_filter");
}

TEST(GeminiBody, MalformedBodyIsAnError) {
  auto decoder = make_gemini_decoder();
  ChatResponse response;
  for (const char* body : {"<html>oops</html>", R"({"candidates":[{"content":{"parts":[{"text":"x"}]}}],"usageMetadata":{)",
                           R"({"candidates":[{"content":{"parts":[{"text":"\q"}]}}]})",
                           R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":01}}}]}}]})",
                           R"({"error":{"code":500,"message":"x","status":"INTERNAL"}})"}) {
    auto decoded = decoder->decode_body(body, response);
    ASSERT_FALSE(decoded) << body;
    EXPECT_EQ(decoded.error().code, "upstream_malformed_response");
    EXPECT_EQ(decoded.error().http_status, 502);
  }
}

// --- provider --------------------------------------------------------------------------------

ProviderConfig gemini_config() {
  ProviderConfig c;
  c.id = "gem";
  c.type = "gemini";
  c.base_url = "https://generativelanguage.googleapis.com/v1beta";
  c.api_key = Secret("AIzaTestKey123");
  return c;
}

TEST(GeminiProviderTest, EncodesUrlsAndTheKeyHeader) {
  GeminiProvider provider(gemini_config());
  std::string body = R"({"model":"gem","messages":[{"role":"user","content":"hi"}],"stream":true})";
  auto fields = json::read_request(body);
  ASSERT_TRUE(fields);
  auto stream = provider.encode(EncodeInput{Endpoint::chat_completions, body, &*fields, "gemini-2.5-flash", "req-1", true});
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->url, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  const auto& headers = *stream->common_headers;
  EXPECT_NE(std::find(headers.begin(), headers.end(), "x-goog-api-key: AIzaTestKey123"), headers.end());
  for (const auto& h : headers) EXPECT_FALSE(h.starts_with("Authorization")) << h;
  EXPECT_EQ(bj::parse(stream->body).as_object()["contents"], bj::parse(R"([{"role":"user","parts":[{"text":"hi"}]}])"));
  auto plain = provider.encode(EncodeInput{Endpoint::chat_completions, body, &*fields, "models/gemini-2.5-flash", "", false});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->url, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(provider.list_models_request().url, "https://generativelanguage.googleapis.com/v1beta/models?pageSize=1000");
  auto embeddings = provider.encode(EncodeInput{Endpoint::embeddings, R"({"input":"x"})", &*fields, "m", "", false});
  ASSERT_FALSE(embeddings);
  EXPECT_EQ(embeddings.error().http_status, 501);
  auto bad_model = provider.encode(EncodeInput{Endpoint::chat_completions, body, &*fields, "../x", "", false});
  ASSERT_FALSE(bad_model);
  EXPECT_EQ(bad_model.error().http_status, 400);
}

TEST(GeminiProviderTest, ErrorBodiesKeepGooglesStatusAndMessage) {
  GeminiProvider provider(gemini_config());
  std::string body = fixture("error-404-model-not-found.json");
  auto in = bj::parse(body).as_object()["error"].as_object();
  Error e = provider.decode_error(404, body, "");
  EXPECT_EQ(e.http_status, 404);
  EXPECT_EQ(e.type, "not_found_error");
  EXPECT_EQ(e.code, "NOT_FOUND");
  EXPECT_NE(e.message.find(std::string(in["message"].as_string())), std::string::npos);

  Error quota = provider.decode_error(429, fixture("error-429-resource-exhausted.json"), "");
  EXPECT_EQ(quota.type, "rate_limit_error");
  EXPECT_EQ(quota.code, "RESOURCE_EXHAUSTED");
  EXPECT_TRUE(quota.retryable);
  ASSERT_TRUE(quota.retry_after);
  EXPECT_EQ(*quota.retry_after, "35");  // RetryInfo.retryDelay 34.4s, rounded up
  Error header_wins = provider.decode_error(429, fixture("error-429-resource-exhausted.json"), "3");
  EXPECT_EQ(*header_wins.retry_after, "3");

  Error echoed = provider.decode_error(400, R"({"error":{"code":400,"message":"API key AIzaTestKey123 not valid","status":"INVALID_ARGUMENT"}})", "");
  EXPECT_EQ(echoed.message.find("AIzaTestKey123"), std::string::npos) << echoed.message;
  EXPECT_EQ(echoed.type, "invalid_request_error");
}

}  // namespace
}  // namespace llmux::providers
