// The Anthropic adapter: OpenAI requests into Messages requests, and Messages responses and
// recorded streams (shared/fixtures/providers/anthropic) back into OpenAI's format. Expected values
// are computed from the fixtures with Boost.JSON, independently of the adapter's simdjson code.
#include "providers/anthropic/anthropic.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <limits>
#include <sstream>

#include "http/sse.hpp"
#include "providers/openai_output.hpp"
#include "openai_assembly.hpp"

namespace llmux::providers {
namespace {

namespace bj = boost::json;
using test::Assembled;
using test::assemble_openai;
using test::expect_same;
using test::jsonl;
using test::sse_data;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/anthropic/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bj::object translate(const std::string& openai_body, bool stream = false, const json::JsonMembers& defaults = {}) {
  std::string out;
  auto done = translate_chat_request(openai_body, "claude-x", stream, defaults, out);
  EXPECT_TRUE(done) << (done ? "" : done.error().message);
  boost::system::error_code ec;
  auto v = bj::parse(out, ec);
  EXPECT_FALSE(ec) << out;
  return ec || !v.is_object() ? bj::object{} : v.as_object();
}

Error translate_error(const std::string& openai_body) {
  std::string out;
  auto done = translate_chat_request(openai_body, "claude-x", false, {}, out);
  EXPECT_FALSE(done) << out;
  return done ? Error{} : done.error();
}

// --- requests --------------------------------------------------------------------------------

TEST(AnthropicRequest, SystemMessagesMoveToTheTopAndMaxTokensGetsADefault) {
  auto r = translate(R"({"model":"m","messages":[
    {"role":"system","content":"Be brief."},
    {"role":"user","content":"Hi \"there\"\n"},
    {"role":"developer","content":[{"type":"text","text":"Use metric units."}]}]})");
  EXPECT_EQ(r["model"], "claude-x");
  EXPECT_EQ(r["max_tokens"], AnthropicProvider::kDefaultMaxTokens);
  EXPECT_EQ(r["system"], bj::parse(R"([{"type":"text","text":"Be brief."},{"type":"text","text":"Use metric units."}])"));
  EXPECT_EQ(r["messages"], bj::parse(R"([{"role":"user","content":"Hi \"there\"\n"}])"));
  EXPECT_FALSE(r.contains("stream"));
}

TEST(AnthropicRequest, SamplingStopUserAndStream) {
  auto r = translate(R"({"model":"m","max_completion_tokens":77,"temperature":0.5,"top_p":0.9,"stop":"END",
    "user":"u-1","frequency_penalty":0,"messages":[{"role":"user","content":"x"}]})", true);
  EXPECT_EQ(r["max_tokens"], 77);
  EXPECT_EQ(r["temperature"], 0.5);
  EXPECT_EQ(r["top_p"], 0.9);
  EXPECT_EQ(r["stop_sequences"], bj::parse(R"(["END"])"));
  EXPECT_EQ(r["metadata"], bj::parse(R"({"user_id":"u-1"})"));
  EXPECT_EQ(r["stream"], true);
  EXPECT_FALSE(r.contains("frequency_penalty"));  // 0 is no penalty; another value is a 400 (InexpressibleSettings)
  EXPECT_EQ(translate_error(R"({"frequency_penalty":1,"messages":[{"role":"user","content":"x"}]})").param,
            "frequency_penalty");
  EXPECT_EQ(translate(R"({"max_tokens":5,"stop":["a","b"],"messages":[{"role":"user","content":"x"}]})")["stop_sequences"],
            bj::parse(R"(["a","b"])"));
}

TEST(AnthropicRequest, DefaultParamsFillWhatTheRequestLeavesOut) {
  json::JsonMembers defaults = {{"max_tokens", "1024"}, {"top_k", "5"}, {"temperature", "0.1"}};
  auto r = translate(R"({"temperature":0.7,"messages":[{"role":"user","content":"x"}]})", false, defaults);
  EXPECT_EQ(r["max_tokens"], 1024);
  EXPECT_EQ(r["top_k"], 5);
  EXPECT_EQ(r["temperature"], 0.7);
}

TEST(AnthropicRequest, ToolCallsAndResultsBecomeToolUseAndToolResultBlocks) {
  auto r = translate(R"({"messages":[
    {"role":"user","content":"Weather in Paris and Rome?"},
    {"role":"assistant","content":null,"tool_calls":[
      {"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\": \"Paris\"}"}},
      {"id":"call_2","type":"function","function":{"name":"weather","arguments":""}}]},
    {"role":"tool","tool_call_id":"call_1","content":"18C"},
    {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"21C"}]},
    {"role":"user","content":"Thanks"}],
    "tools":[{"type":"function","function":{"name":"weather","description":"Weather now",
      "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
    "tool_choice":{"type":"function","function":{"name":"weather"}},"parallel_tool_calls":false})");
  EXPECT_EQ(r["messages"], bj::parse(R"([
    {"role":"user","content":"Weather in Paris and Rome?"},
    {"role":"assistant","content":[
      {"type":"tool_use","id":"call_1","name":"weather","input":{"city":"Paris"}},
      {"type":"tool_use","id":"call_2","name":"weather","input":{}}]},
    {"role":"user","content":[
      {"type":"tool_result","tool_use_id":"call_1","content":"18C"},
      {"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"21C"}]}]},
    {"role":"user","content":"Thanks"}])"));
  EXPECT_EQ(r["tools"], bj::parse(R"([{"name":"weather","description":"Weather now",
    "input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}])"));
  EXPECT_EQ(r["tool_choice"], bj::parse(R"({"type":"tool","name":"weather","disable_parallel_tool_use":true})"));
}

TEST(AnthropicRequest, ToolChoiceNames) {
  auto choice = [](const char* value) {
    return translate(std::string(R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":)") +
                     value + "}")["tool_choice"];
  };
  EXPECT_EQ(choice("\"auto\""), bj::parse(R"({"type":"auto"})"));
  EXPECT_EQ(choice("\"required\""), bj::parse(R"({"type":"any"})"));
  EXPECT_EQ(choice("\"none\""), bj::parse(R"({"type":"none"})"));
  auto r = translate(R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}]})");
  EXPECT_EQ(r["tools"], bj::parse(R"([{"name":"f","input_schema":{"type":"object","properties":{}}}])"));
}

TEST(AnthropicRequest, SystemMessageWithoutPartsLeavesValidJson) {
  auto r = translate(R"({"messages":[{"role":"system","content":[]},{"role":"system","content":"Be brief."},
    {"role":"user","content":"x"}]})");
  EXPECT_EQ(r["system"], bj::parse(R"([{"type":"text","text":"Be brief."}])"));
}

TEST(AnthropicRequest, ImagePartsBecomeImageBlocks) {
  auto r = translate(R"({"messages":[{"role":"user","content":[
    {"type":"text","text":"What is this?"},
    {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
    {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}]})");
  EXPECT_EQ(r["messages"].as_array()[0].as_object()["content"], bj::parse(R"([
    {"type":"text","text":"What is this?"},
    {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
    {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}])"));
}

TEST(AnthropicRequest, WhatAnthropicCannotExpressIsA400NamingTheField) {
  auto e = translate_error(R"({"n":2,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.param, "n");
  e = translate_error(R"({"response_format":{"type":"json_schema"},"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(e.param, "response_format");
  e = translate_error(R"({"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]})");
  EXPECT_EQ(e.param, "messages[0].content[0].type");
  e = translate_error(R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"[1"}}]}]})");
  EXPECT_EQ(e.param, "messages[0].tool_calls[0].function.arguments");
  e = translate_error(R"({"messages":[{"role":"function","content":"x"}]})");
  EXPECT_EQ(e.param, "messages[0].role");
  e = translate_error(R"({"messages":[{"role":"tool","content":"x"}]})");
  EXPECT_EQ(e.param, "messages[0].tool_call_id");
  e = translate_error(R"({"messages":[{"role":"system","content":"only a system prompt"}]})");
  EXPECT_EQ(e.param, "messages");
  e = translate_error(R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"})");
  EXPECT_EQ(e.param, "tool_choice");
}

// --- streams ---------------------------------------------------------------------------------

// What a client reassembles from a stream, in either format.
// The reference: Anthropic events read with Boost.JSON.
Assembled expected_from_anthropic(const std::vector<std::string>& events) {
  Assembled a;
  std::map<int64_t, size_t> call_of_block;
  int64_t input = 0, cache = 0, output = 0;
  for (const auto& data : events) {
    auto e = bj::parse(data).as_object();
    std::string type(e["type"].as_string());
    if (type == "message_start") {
      auto& m = e["message"].as_object();
      a.id = m["id"].as_string();
      a.model = m["model"].as_string();
      auto& u = m["usage"].as_object();
      input = u["input_tokens"].to_number<int64_t>();
      if (auto* c = u.if_contains("cache_creation_input_tokens")) cache += c->to_number<int64_t>();
      if (auto* c = u.if_contains("cache_read_input_tokens")) cache += c->to_number<int64_t>();
    } else if (type == "content_block_start") {
      auto& b = e["content_block"].as_object();
      if (b["type"] == "tool_use") {
        call_of_block[e["index"].to_number<int64_t>()] = a.calls.size();
        a.calls.push_back({std::string(b["id"].as_string()), std::string(b["name"].as_string()), ""});
      }
    } else if (type == "content_block_delta") {
      auto& d = e["delta"].as_object();
      if (d["type"] == "text_delta") a.text += d["text"].as_string();
      if (d["type"] == "thinking_delta") a.reasoning += d["thinking"].as_string();
      if (d["type"] == "input_json_delta") {
        auto it = call_of_block.find(e["index"].to_number<int64_t>());
        if (it != call_of_block.end()) a.calls[it->second].arguments += d["partial_json"].as_string();
      }
    } else if (type == "message_delta") {
      std::string reason(e["delta"].as_object()["stop_reason"].as_string());
      a.finish = reason == "tool_use" ? "tool_calls" : reason == "max_tokens" ? "length"
                 : reason == "refusal" ? "content_filter" : "stop";
      auto& u = e["usage"].as_object();
      output = u["output_tokens"].to_number<int64_t>();
      // Newer API versions repeat the input counts here, final for the turn (server tools add to them).
      if (auto* in = u.if_contains("input_tokens")) {
        input = in->to_number<int64_t>();
        cache = 0;
        if (auto* c = u.if_contains("cache_creation_input_tokens")) cache += c->to_number<int64_t>();
        if (auto* c = u.if_contains("cache_read_input_tokens")) cache += c->to_number<int64_t>();
      }
    } else if (type == "message_stop") {
      a.done = true;
      a.prompt_tokens = input + cache;
      a.completion_tokens = output;
    } else if (type == "error") {
      a.error_type = e["error"].as_object()["type"].as_string();
      a.error_message = e["error"].as_object()["message"].as_string();
    }
  }
  // A tool without parameters streams no input; OpenAI's arguments for it are "{}".
  for (auto& call : a.calls)
    if (call.arguments.find_first_not_of(" \t\r\n") == std::string::npos) call.arguments += "{}";
  return a;
}

// Decodes events the way the server does: each event through the decoder into the writer.
std::string translate_stream(const std::vector<std::string>& events, bool include_usage = true) {
  auto decoder = make_anthropic_decoder();
  OpenAIChunkWriter writer;
  std::string out;
  decoder->reset();
  writer.begin(&out, 1700000000, include_usage);
  for (const auto& data : events) {
    if (writer.ended()) break;
    auto decoded = decoder->decode_event(http::SseEvent{"", data}, writer);
    EXPECT_TRUE(decoded) << data;
  }
  return out;
}

class RecordedStream : public ::testing::TestWithParam<const char*> {};

TEST_P(RecordedStream, TranslatesToTheSameAnswerInOpenAIChunks) {
  std::string name = GetParam();
  auto events = name.ends_with(".jsonl") ? jsonl(fixture(name)) : sse_data(fixture(name));
  ASSERT_FALSE(events.empty());
  Assembled want = expected_from_anthropic(events);
  Assembled got = assemble_openai(translate_stream(events));
  expect_same(want, got);
}

INSTANTIATE_TEST_SUITE_P(Anthropic, RecordedStream,
                         ::testing::Values("stream-text.sse.txt", "stream-tool-use-two-calls.sse.txt",
                                           "stream-after-tool-result.sse.txt", "stream-thinking-redacted.sse.txt",
                                           "stream-server-tool-input-json-delta.sse.txt", "stream-refusal.chunks.jsonl",
                                           "stream-tool-no-args.chunks.jsonl", "stream-tool-use.chunks.jsonl"));

TEST(AnthropicStream, ServerToolsAreNotClientToolCalls) {
  auto events = sse_data(fixture("stream-server-tool-input-json-delta.sse.txt"));
  Assembled got = assemble_openai(translate_stream(events));
  EXPECT_TRUE(got.calls.empty());
  EXPECT_FALSE(got.reasoning.empty());  // the thinking block is visible reasoning
  EXPECT_FALSE(got.text.empty());
}

TEST(AnthropicStream, AMidStreamErrorEndsTheStreamWithAnOpenAIErrorAndNoDone) {
  auto events = sse_data(fixture("stream-text.sse.txt"));
  events.resize(4);  // message_start, block start, ping, one delta
  events.push_back(jsonl(fixture("stream-error-overloaded.observed-data.jsonl")).at(0));
  std::string out = translate_stream(events);
  Assembled got = assemble_openai(out);
  EXPECT_EQ(got.error_type, "overloaded_error");
  EXPECT_EQ(got.error_message, "Overloaded");
  EXPECT_FALSE(got.done);
  EXPECT_EQ(got.text, "Hello");
}

TEST(AnthropicStream, UsageChunkOnlyWhenAskedFor) {
  auto events = sse_data(fixture("stream-text.sse.txt"));
  EXPECT_NE(translate_stream(events, true).find("\"choices\":[],\"usage\":{"), std::string::npos);
  std::string without = translate_stream(events, false);
  EXPECT_EQ(without.find("\"usage\""), std::string::npos);
  EXPECT_TRUE(assemble_openai(without).done);
}

TEST(AnthropicStream, EscapesPassThroughUnchanged) {
  std::vector<std::string> events = {
      R"({"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":1,"output_tokens":0}}})",
      R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a \"quote\", a \\ and\n\u00e9\ud83d\ude00"}})",
      R"({"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":3}})",
      R"({"type":"message_stop"})"};
  Assembled got = assemble_openai(translate_stream(events));
  EXPECT_EQ(got.text, "a \"quote\", a \\ and\n\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(got.finish, "length");
}

TEST(AnthropicStream, AnEventThatIsNotJsonIsAnError) {
  auto decoder = make_anthropic_decoder();
  OpenAIChunkWriter writer;
  std::string out;
  writer.begin(&out, 0, false);
  auto decoded = decoder->decode_event(http::SseEvent{"", "{\"type\":\"content_block_delta\",\"index\":"}, writer);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, "upstream_malformed_response");
  EXPECT_TRUE(out.empty());
}

TEST(AnthropicStream, AStringThatIsNotValidJsonIsAnError) {
  // Text is passed on as raw tokens, which simdjson does not check: an invalid escape or a raw
  // control character must not reach the client as an invalid chunk.
  for (const char* data : {R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\x"}})",
                           R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\u12"}})",
                           R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\"})" "\x01\"}}",
                           R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\"})" "\t\"}}",
                           R"({"type":"message_start","message":{"id":"msg\q","model":"m"}})",
                           R"({"type":"error","error":{"type":"overloaded\error","message":"x"}})"}) {
    auto decoder = make_anthropic_decoder();
    OpenAIChunkWriter writer;
    std::string out;
    writer.begin(&out, 0, false);
    auto decoded = decoder->decode_event(http::SseEvent{"", data}, writer);
    EXPECT_FALSE(decoded) << data << " -> " << out;
    EXPECT_TRUE(out.empty()) << out;
  }
  // Every valid escape still passes through.
  std::vector<std::string> events = {
      R"({"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":1,"output_tokens":0}}})",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\"\\\/\b\f\n\r\t\u00E9"}})",
      R"({"type":"message_stop"})"};
  EXPECT_EQ(assemble_openai(translate_stream(events)).text, "\"\\/\b\f\n\r\t\xC3\xA9");
}

// A tool_use block whose input streams as `pieces` of JSON text; then `after_pieces` (default: the
// block's end and the message's).
std::vector<std::string> tool_stream(const std::vector<std::string>& pieces,
                                     std::vector<std::string> after_pieces = {
                                         R"({"type":"content_block_stop","index":0})",
                                         R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":3}})",
                                         R"({"type":"message_stop"})"}) {
  std::vector<std::string> events = {
      R"({"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":1,"output_tokens":0}}})",
      R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}})"};
  for (const auto& piece : pieces)
    events.push_back(R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":)" +
                     bj::serialize(bj::string(piece)) + "}}");
  events.insert(events.end(), after_pieces.begin(), after_pieces.end());
  return events;
}

// As the server does: an event the decoder refuses ends the stream with an error event.
std::string translate_stream_until_error(const std::vector<std::string>& events) {
  auto decoder = make_anthropic_decoder();
  OpenAIChunkWriter writer;
  std::string out;
  writer.begin(&out, 1700000000, false);
  for (const auto& data : events) {
    if (writer.ended()) break;
    if (auto decoded = decoder->decode_event(http::SseEvent{"", data}, writer); !decoded) writer.fail(decoded.error());
  }
  return out;
}

// The client concatenates the argument pieces and parses them; what cannot become a JSON object
// ends the stream with an error, and the piece that broke it is not passed on.
TEST(AnthropicStream, ToolInputPiecesMustMakeAJsonObject) {
  Assembled good = assemble_openai(translate_stream_until_error(
      tool_stream({"", "{\"ci", "ty\": \"Pa\\u00e9", "ris \\\"x\\\"\"", ", \"n\": [1, 2.5e", "3]}", "  "})));
  EXPECT_TRUE(good.error_type.empty()) << good.error_message;
  ASSERT_EQ(good.calls.size(), 1u);
  EXPECT_EQ(good.calls[0].arguments, "{\"city\": \"Pa\\u00e9ris \\\"x\\\"\", \"n\": [1, 2.5e3]}  ");
  EXPECT_NO_THROW(bj::parse(good.calls[0].arguments));
  EXPECT_TRUE(good.done);
  // A tool without parameters streams no input (or only empty pieces): its arguments are "{}", as
  // OpenAI sends them; "" is not JSON to the client.
  for (auto pieces : {std::vector<std::string>{}, std::vector<std::string>{"", " "}}) {
    Assembled none = assemble_openai(translate_stream_until_error(tool_stream(pieces)));
    EXPECT_TRUE(none.error_type.empty()) << none.error_message;
    ASSERT_EQ(none.calls.size(), 1u);
    EXPECT_EQ(none.calls[0].arguments, pieces.empty() ? "{}" : " {}");
  }

  struct Case {
    std::vector<std::string> pieces;
    std::string passed_on;  // the arguments the client got before the error
  };
  for (const Case& c : std::vector<Case>{{{"{\"a\":tru", "}"}, "{\"a\":tru"},
                                         {{"{\"a\":1", "} {}"}, "{\"a\":1"},
                                         {{"[1]"}, ""},
                                         {{"{\"a\":1"}, "{\"a\":1"},  // incomplete at the block's end
                                         {{"{\"city\":\"Paris\"", std::string("\0\0[1, 2]}", 9)}, "{\"city\":\"Paris\""}}) {
    std::string out = translate_stream_until_error(tool_stream(c.pieces));
    Assembled got = assemble_openai(out);
    EXPECT_EQ(got.error_type, "upstream_error") << out;
    EXPECT_NE(got.error_message.find("malformed tool input"), std::string::npos) << got.error_message;
    EXPECT_FALSE(got.done);
    ASSERT_EQ(got.calls.size(), 1u) << out;
    EXPECT_EQ(got.calls[0].arguments, c.passed_on) << out;
  }
  // Incomplete when the message ends without the block's end; a piece for a block already ended.
  for (auto events : {tool_stream({"{\"a\":"}, {R"({"type":"message_stop"})"}),
                      tool_stream({"{}"}, {R"({"type":"content_block_stop","index":0})",
                                           R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" "}})"})}) {
    Assembled got = assemble_openai(translate_stream_until_error(events));
    EXPECT_EQ(got.error_type, "upstream_error");
    EXPECT_FALSE(got.done);
  }
}

// Found by the anthropic_response fuzz target: a second block started at a used index made one
// tool call of two ("{}{}" as its arguments). Indexes are unique within a message.
TEST(AnthropicStream, ABlockIndexOrMessageStartedTwiceIsMalformed) {
  const std::string second_tool =
      R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_2","name":"g","input":{}}})";
  const std::string text_block = R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})";
  for (const std::string& again : {second_tool, text_block}) {
    std::string out = translate_stream_until_error(
        tool_stream({}, {R"({"type":"content_block_stop","index":0})", again, R"({"type":"content_block_stop","index":0})",
                         R"({"type":"message_stop"})"}));
    Assembled got = assemble_openai(out);
    EXPECT_EQ(got.error_type, "upstream_error") << out;
    EXPECT_NE(got.error_message.find("started twice"), std::string::npos) << got.error_message;
    EXPECT_FALSE(got.done);
    ASSERT_EQ(got.calls.size(), 1u) << out;
    EXPECT_EQ(got.calls[0].arguments, "{}");
  }
  // One stream is one message: a second message_start would number its tool calls from 0 again,
  // and the client would join both calls' arguments as one ("{}{}").
  std::vector<std::string> two_messages = tool_stream({"{}"}, {R"({"type":"content_block_stop","index":0})"});
  std::vector<std::string> next = tool_stream({"{}"});
  two_messages.insert(two_messages.end(), next.begin(), next.end());
  Assembled got = assemble_openai(translate_stream_until_error(two_messages));
  EXPECT_NE(got.error_message.find("a second message_start"), std::string::npos) << got.error_message;
  ASSERT_EQ(got.calls.size(), 1u);
  EXPECT_EQ(got.calls[0].arguments, "{}");
}

TEST(AnthropicStream, AnEventWithEmptyDataIsSkipped) {
  auto events = sse_data(fixture("stream-text.sse.txt"));
  events.insert(events.begin() + 1, "");
  std::vector<std::string> without_empty = events;
  without_empty.erase(without_empty.begin() + 1);
  expect_same(expected_from_anthropic(without_empty), assemble_openai(translate_stream(events)));
}

TEST(AnthropicStream, UnknownEventTypesAreIgnored) {
  auto events = sse_data(fixture("stream-text.sse.txt"));
  events.insert(events.begin() + 2, R"({"type":"some_future_event","index":0,"delta":{"type":"x"}})");
  events.insert(events.begin() + 4, R"({"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{}}})");
  expect_same(expected_from_anthropic(events), assemble_openai(translate_stream(events)));
}

// --- whole responses -------------------------------------------------------------------------

bj::object translate_body(const std::string& body) {
  auto decoder = make_anthropic_decoder();
  ChatResponse response;
  auto decoded = decoder->decode_body(body, response);
  EXPECT_TRUE(decoded) << body;
  std::string out;
  write_chat_completion(response, 1700000000, out);
  return bj::parse(out).as_object();
}

TEST(AnthropicBody, TextResponse) {
  std::string body = fixture("messages-nonstream.json");
  auto in = bj::parse(body).as_object();
  auto out = translate_body(body);
  EXPECT_EQ(out["object"], "chat.completion");
  EXPECT_EQ(out["id"], in["id"]);
  EXPECT_EQ(out["model"], in["model"]);
  std::string text;
  for (auto& block : in["content"].as_array())
    if (block.as_object()["type"] == "text") text += block.as_object()["text"].as_string();
  auto& choice = out["choices"].as_array()[0].as_object();
  EXPECT_EQ(choice["message"].as_object()["content"], text.c_str());
  EXPECT_EQ(choice["finish_reason"], "stop");
  auto& u = in["usage"].as_object();
  int64_t prompt = u["input_tokens"].to_number<int64_t>() + u["cache_creation_input_tokens"].to_number<int64_t>() +
                   u["cache_read_input_tokens"].to_number<int64_t>();
  EXPECT_EQ(out["usage"].as_object()["prompt_tokens"], prompt);
  EXPECT_EQ(out["usage"].as_object()["completion_tokens"], u["output_tokens"]);
}

TEST(AnthropicBody, ToolUseResponse) {
  std::string body = fixture("messages-nonstream-tool-use.json");
  auto in = bj::parse(body).as_object();
  auto out = translate_body(body);
  auto& choice = out["choices"].as_array()[0].as_object();
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  auto& message = choice["message"].as_object();
  EXPECT_TRUE(message["content"].is_null());
  auto& block = in["content"].as_array()[0].as_object();
  auto& call = message["tool_calls"].as_array().at(0).as_object();
  EXPECT_EQ(call["id"], block["id"]);
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"].as_object()["name"], block["name"]);
  // Arguments are a string of JSON, as OpenAI sends them; they hold the same object.
  EXPECT_EQ(bj::parse(call["function"].as_object()["arguments"].as_string()), block["input"]);
}

TEST(AnthropicBody, EveryToolCallKeepsItsArguments) {
  // Small inputs live inside their std::string; the decoder's argument strings must not move while
  // earlier calls still point at them.
  auto out = translate_body(R"({"id":"msg_1","type":"message","role":"assistant","model":"m","content":[
    {"type":"tool_use","id":"t1","name":"a","input":{"x":1}},
    {"type":"tool_use","id":"t2","name":"b","input":{"y":2}},
    {"type":"tool_use","id":"t3","name":"c","input":{}}],
    "stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}})");
  auto& calls = out["choices"].as_array()[0].as_object()["message"].as_object()["tool_calls"].as_array();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].as_object()["function"].as_object()["arguments"], R"({"x":1})");
  EXPECT_EQ(calls[1].as_object()["function"].as_object()["arguments"], R"({"y":2})");
  EXPECT_EQ(calls[2].as_object()["function"].as_object()["arguments"], "{}");
}

TEST(AnthropicBody, MalformedBodyIsAnError) {
  auto decoder = make_anthropic_decoder();
  ChatResponse response;
  EXPECT_FALSE(decoder->decode_body("<html>oops</html>", response));
  EXPECT_FALSE(decoder->decode_body(R"({"content":[{"type":"text","text":"x"}],"usage":{"input_tokens":)", response));
  // Raw tokens: strings are checked for valid escapes by the decoder itself.
  EXPECT_FALSE(decoder->decode_body(R"({"id":"msg\x","model":"m","content":[{"type":"text","text":"x"}]})", response));
  EXPECT_FALSE(decoder->decode_body(R"({"id":"msg","model":"m","content":[{"type":"text","text":"\u00"}]})", response));
  EXPECT_FALSE(decoder->decode_body(R"({"id":"msg","model":"m","content":[{"type":"tool_use","id":"t\z","name":"f","input":{}}]})", response));
}

// On-Demand skips a tool input without reading its values, and minify does not check them either:
// input that is not JSON must not become the client's arguments (found by fuzzing).
TEST(AnthropicBody, ToolInputThatIsNotJsonIsMalformed) {
  auto decoder = make_anthropic_decoder();
  auto body = [](std::string_view input) {
    return R"({"id":"m","model":"c","content":[{"type":"tool_use","id":"t","name":"f","input":)" + std::string(input) +
           "}]}";
  };
  for (std::string_view input : {std::string_view(R"({"a":tru})"), std::string_view(R"({"city":"Parisy,a"d"s":[1, 2]})"),
                                 std::string_view("{\"city\":\"Paris\"\0\0[1, 2]}", 24),
                                 std::string_view(R"({"locat"content_block_stop"","temperature":-5})"),
                                 std::string_view(R"({"a":01})"), std::string_view(R"({"a":"\q"})")}) {
    ChatResponse response;
    auto decoded = decoder->decode_body(body(input), response);
    ASSERT_FALSE(decoded) << input;
    EXPECT_EQ(decoded.error().code, "upstream_malformed_response");
    EXPECT_EQ(decoded.error().http_status, 502);
  }
  ChatResponse response;
  ASSERT_TRUE(decoder->decode_body(body(R"({ "a" : [true, null, -1.5e3, "\u00e9"] })"), response));
  ASSERT_EQ(response.tool_calls.size(), 1u);
  EXPECT_EQ(response.tool_calls[0].arguments_json, R"({"a":[true,null,-1.5e3,"\u00e9"]})");
  // A block without input (the fuzzer wrote "iNput") has arguments "{}", not "".
  ASSERT_TRUE(decoder->decode_body(R"({"id":"m","model":"c","content":[{"type":"tool_use","id":"t","name":"f","iNput":{"a":1}}]})",
                                   response));
  ASSERT_EQ(response.tool_calls.size(), 1u);
  EXPECT_EQ(response.tool_calls[0].arguments_json, "{}");
}

// UBSan found the sum of input and cache counts overflowing; it saturates.
TEST(AnthropicBody, HugeUsageCountsSaturate) {
  auto decoder = make_anthropic_decoder();
  ChatResponse response;
  ASSERT_TRUE(decoder->decode_body(
      R"({"id":"m","model":"c","content":[],"usage":{"input_tokens":9223372036854775807,"cache_read_input_tokens":1,"output_tokens":1}})",
      response));
  EXPECT_EQ(response.usage.prompt_tokens, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(response.usage.completion_tokens, 1);
  EXPECT_EQ(response.usage.total_tokens, std::numeric_limits<int64_t>::max());
  std::string out;
  write_chat_completion(response, 0, out);
  EXPECT_NE(out.find(R"("total_tokens":9223372036854775807)"), std::string::npos) << out;
}

// --- provider --------------------------------------------------------------------------------

TEST(AnthropicProviderTest, EncodesMessagesRequestWithVersionAndKeyHeaders) {
  ProviderConfig c;
  c.id = "claude";
  c.type = "anthropic";
  c.base_url = "https://api.anthropic.com/v1";
  c.api_key = Secret("sk-ant-test");
  c.auth = AuthStyle::header;
  c.auth_header = "x-api-key";
  AnthropicProvider provider(c);
  std::string body = R"({"model":"claude","messages":[{"role":"user","content":"hi"}],"stream":true})";
  auto fields = json::read_request(body);
  ASSERT_TRUE(fields);
  auto request = provider.encode(EncodeInput{Endpoint::chat_completions, body, &*fields, "claude-sonnet-4-5", "req-1", true});
  ASSERT_TRUE(request);
  EXPECT_EQ(request->url, "https://api.anthropic.com/v1/messages");
  const auto& headers = *request->common_headers;
  EXPECT_NE(std::find(headers.begin(), headers.end(), "x-api-key: sk-ant-test"), headers.end());
  EXPECT_NE(std::find(headers.begin(), headers.end(), "anthropic-version: 2023-06-01"), headers.end());
  EXPECT_EQ(bj::parse(request->body).as_object()["model"], "claude-sonnet-4-5");
  EXPECT_EQ(provider.list_models_request().url, "https://api.anthropic.com/v1/models?limit=1000");
  EXPECT_EQ(provider.endpoint_url(Endpoint::models), "https://api.anthropic.com/v1/models");

  auto embeddings = provider.encode(EncodeInput{Endpoint::embeddings, R"({"input":"x"})", &*fields, "m", "", false});
  ASSERT_FALSE(embeddings);
  EXPECT_EQ(embeddings.error().http_status, 501);
}

TEST(AnthropicProviderTest, ErrorBodiesKeepAnthropicsTypeAndMessage) {
  ProviderConfig c;
  c.id = "claude";
  c.type = "anthropic";
  c.base_url = "https://api.anthropic.com/v1";
  AnthropicProvider provider(c);
  std::string body = fixture("error-404-not-found.json");
  auto in = bj::parse(body).as_object()["error"].as_object();
  Error e = provider.decode_error(404, body, "");
  EXPECT_EQ(e.http_status, 404);
  EXPECT_EQ(e.type, in["type"].as_string().c_str());
  EXPECT_NE(e.message.find(std::string(in["message"].as_string())), std::string::npos);
  Error overloaded = provider.decode_error(529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", "");
  EXPECT_TRUE(overloaded.retryable);
}

// --- thinking_blocks: Claude's signed and redacted reasoning, out and back ----------------------

// The thinking_blocks entries of every delta of a translated stream, in order.
std::vector<bj::object> streamed_thinking_blocks(const std::string& sse) {
  std::vector<bj::object> blocks;
  for (const auto& data : sse_data(sse)) {
    if (data == "[DONE]") continue;
    auto chunk = bj::parse(data).as_object();
    auto& choices = chunk["choices"].as_array();
    if (choices.empty()) continue;
    auto& delta = choices[0].as_object()["delta"].as_object();
    if (auto* list = delta.if_contains("thinking_blocks"))
      for (auto& b : list->as_array()) blocks.push_back(b.as_object());
  }
  return blocks;
}

TEST(AnthropicThinkingBlocks, TheRecordedSignatureAndRedactedBlocksStreamAsThinkingBlocks) {
  auto events = sse_data(fixture("stream-server-tool-input-json-delta.sse.txt"));
  std::vector<std::string> signatures;
  for (const auto& data : events) {
    auto e = bj::parse(data).as_object();
    if (e["type"] == "content_block_delta" && e["delta"].as_object()["type"] == "signature_delta")
      signatures.emplace_back(e["delta"].as_object()["signature"].as_string());
  }
  ASSERT_FALSE(signatures.empty());
  auto blocks = streamed_thinking_blocks(translate_stream(events));
  ASSERT_EQ(blocks.size(), signatures.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    EXPECT_EQ(blocks[i]["type"], "thinking");
    EXPECT_EQ(blocks[i]["signature"].as_string(), signatures[i]);
  }

  auto redacted_events = sse_data(fixture("stream-thinking-redacted.sse.txt"));
  std::vector<std::string> data;
  for (const auto& event : redacted_events) {
    auto e = bj::parse(event).as_object();
    if (e["type"] == "content_block_start" && e["content_block"].as_object()["type"] == "redacted_thinking")
      data.emplace_back(e["content_block"].as_object()["data"].as_string());
  }
  ASSERT_EQ(data.size(), 2u);
  auto redacted = streamed_thinking_blocks(translate_stream(redacted_events));
  ASSERT_EQ(redacted.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(redacted[i]["type"], "redacted_thinking");
    EXPECT_EQ(redacted[i]["data"].as_string(), data[i]);
  }
}

TEST(AnthropicThinkingBlocks, ABodysThinkingAndRedactedBlocksBecomeTheMessagesThinkingBlocks) {
  auto decoder = make_anthropic_decoder();
  ChatResponse r;
  ASSERT_TRUE(decoder->decode_body(R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-x",
    "content":[{"type":"thinking","thinking":"Let me think \"hard\".","signature":"SIG+/="},
               {"type":"redacted_thinking","data":"REDACTED=="},{"type":"text","text":"Paris."}],
    "stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":2}})", r));
  std::string out;
  write_chat_completion(r, 1700000000, out);
  auto message = bj::parse(out).as_object()["choices"].as_array()[0].as_object()["message"].as_object();
  EXPECT_EQ(message["reasoning_content"], "Let me think \"hard\".");
  auto& blocks = message["thinking_blocks"].as_array();
  ASSERT_EQ(blocks.size(), 2u) << out;
  EXPECT_EQ(blocks[0], bj::parse(R"({"type":"thinking","thinking":"Let me think \"hard\".","signature":"SIG+/="})"));
  EXPECT_EQ(blocks[1], bj::parse(R"({"type":"redacted_thinking","data":"REDACTED=="})"));
  // Without a signature there is nothing to give back: no thinking_blocks.
  ASSERT_TRUE(decoder->decode_body(R"({"id":"msg_2","type":"message","role":"assistant","model":"claude-x",
    "content":[{"type":"text","text":"Paris."}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":2}})", r));
  out.clear();
  write_chat_completion(r, 1700000000, out);
  EXPECT_EQ(out.find("thinking_blocks"), std::string::npos) << out;
}

constexpr const char* kGivenBack = R"({"model":"m","messages":[{"role":"user","content":"Weather?"},
  {"role":"assistant","content":"Looking.","reasoning_content":"ignored: the blocks carry it",
   "thinking_blocks":[{"type":"thinking","thinking":"Need the tool.","signature":"SIG1"},
                      {"type":"redacted_thinking","data":"RED1"}],
   "tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
  {"role":"tool","tool_call_id":"toolu_1","content":"12C"}]})";

TEST(AnthropicThinkingBlocks, GivenBackTheyLeadTheAssistantTurnFieldByField) {
  for (bool vertex : {false, true}) {
    std::string out;
    auto done = vertex ? translate_vertex_chat_request(kGivenBack, {"vertex-2023-10-16", ""}, false, {}, out)
                       : translate_chat_request(kGivenBack, "claude-x", false, {}, out);
    ASSERT_TRUE(done) << done.error().message;
    auto content = bj::parse(out).as_object()["messages"].as_array()[1].as_object()["content"].as_array();
    ASSERT_EQ(content.size(), 4u) << out;
    EXPECT_EQ(content[0], bj::parse(R"({"type":"thinking","thinking":"Need the tool.","signature":"SIG1"})"));
    EXPECT_EQ(content[1], bj::parse(R"({"type":"redacted_thinking","data":"RED1"})"));
    EXPECT_EQ(content[2], bj::parse(R"({"type":"text","text":"Looking."})"));
    EXPECT_EQ(content[3].as_object()["type"], "tool_use");
  }
}

TEST(AnthropicThinkingBlocks, ABlockThatCannotBeGivenBackIsA400NamingIt) {
  auto with = [](const std::string& blocks) {
    return R"({"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y","thinking_blocks":)" + blocks +
           "}]}";
  };
  EXPECT_EQ(translate_error(with(R"([{"type":"thinking","thinking":"t"}])")).param, "messages[1].thinking_blocks[0].signature");
  EXPECT_EQ(translate_error(with(R"([{"type":"redacted_thinking"}])")).param, "messages[1].thinking_blocks[0].data");
  EXPECT_EQ(translate_error(with(R"([{"type":"summary","text":"t"}])")).param, "messages[1].thinking_blocks[0].type");
  EXPECT_EQ(translate_error(with(R"({"type":"thinking"})")).param, "messages[1].thinking_blocks");
}

}  // namespace
}  // namespace llmux::providers
