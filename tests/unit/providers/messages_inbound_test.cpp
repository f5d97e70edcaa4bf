// The inbound Anthropic Messages API: requests converted to OpenAI's chat shape field by field,
// canonical events written as Anthropic's exact event sequence, and OpenAI-shaped answers (the
// recorded OpenAI, Azure, Groq and Mistral fixtures) decoded to canonical form whole and split at
// every byte boundary.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "http/sse.hpp"
#include "providers/anthropic/anthropic_inbound.hpp"
#include "providers/anthropic/anthropic_output.hpp"
#include "providers/openai_compatible/openai_compatible.hpp"

namespace llmux::providers {
namespace {

namespace bj = boost::json;

bj::object convert(const std::string& body, bool count_only = false) {
  std::string out;
  auto done = messages_to_chat_request(body, out, count_only);
  EXPECT_TRUE(done) << (done ? "" : done.error().message);
  boost::system::error_code ec;
  auto v = bj::parse(out, ec);
  EXPECT_FALSE(ec) << out;
  return ec || !v.is_object() ? bj::object{} : v.as_object();
}

Error convert_error(const std::string& body) {
  std::string out;
  auto done = messages_to_chat_request(body, out);
  EXPECT_FALSE(done) << out;
  return done ? Error{} : done.error();
}

// --- requests ------------------------------------------------------------------------------------

TEST(MessagesRequest, EveryFieldHasItsOpenAIForm) {
  auto r = convert(R"({"model":"claude-x","max_tokens":300,
    "system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
    "messages":[
      {"role":"user","content":[{"type":"text","text":"Weather in \"Paris\"?"},
        {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}},
        {"type":"image","source":{"type":"url","url":"https://x.test/a.jpg"}}]},
      {"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"sig"},
        {"type":"text","text":"Checking."},
        {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18C"},
        {"type":"tool_result","tool_use_id":"toolu_2","is_error":true,"content":[{"type":"text","text":"down"}]},
        {"type":"text","text":"Thanks"}]}],
    "tools":[{"name":"get_weather","description":"Weather now","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
    "tool_choice":{"type":"any","disable_parallel_tool_use":true},
    "stop_sequences":["END"],"temperature":0.5,"top_p":0.9,"top_k":40,
    "metadata":{"user_id":"u-1"},"thinking":{"type":"enabled","budget_tokens":8000},"stream":true})");
  EXPECT_EQ(r["model"], "claude-x");
  EXPECT_EQ(r["max_tokens"], 300);
  auto& m = r["messages"].as_array();
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(m[0].at("role"), "system");
  EXPECT_EQ(m[0].at("content").as_array()[0].at("text"), "Be brief.");
  EXPECT_EQ(m[1].at("role"), "user");
  auto& parts = m[1].at("content").as_array();
  EXPECT_EQ(parts[0].at("text"), "Weather in \"Paris\"?");
  EXPECT_EQ(parts[1].at("image_url").at("url"), "data:image/png;base64,iVBOR");
  EXPECT_EQ(parts[2].at("image_url").at("url"), "https://x.test/a.jpg");
  EXPECT_EQ(m[2].at("role"), "assistant");
  EXPECT_EQ(m[2].at("content"), "Checking.");  // the earlier turn's thinking is not sent on
  auto& call = m[2].at("tool_calls").as_array()[0];
  EXPECT_EQ(call.at("id"), "toolu_1");
  EXPECT_EQ(call.at("function").at("name"), "get_weather");
  EXPECT_EQ(bj::parse(call.at("function").at("arguments").as_string()), bj::parse(R"({"city":"Paris"})"));
  EXPECT_EQ(m[3].at("role"), "tool");
  EXPECT_EQ(m[3].at("tool_call_id"), "toolu_1");
  EXPECT_EQ(m[3].at("content"), "18C");
  EXPECT_EQ(m[4].at("content"), "[tool error] down");
  EXPECT_EQ(m[5].at("role"), "user");
  EXPECT_EQ(m[5].at("content").as_array()[0].at("text"), "Thanks");
  auto& tool = r["tools"].as_array()[0].at("function");
  EXPECT_EQ(tool.at("name"), "get_weather");
  EXPECT_EQ(tool.at("description"), "Weather now");
  EXPECT_EQ(tool.at("parameters").at("type"), "object");
  EXPECT_EQ(r["tool_choice"], "required");
  EXPECT_EQ(r["parallel_tool_calls"], false);
  EXPECT_EQ(r["stop"].as_array()[0], "END");
  EXPECT_EQ(r["temperature"], 0.5);
  EXPECT_EQ(r["top_p"], 0.9);
  EXPECT_EQ(r["top_k"], 40);
  EXPECT_EQ(r["user"], "u-1");
  EXPECT_EQ(r["reasoning_effort"], "medium");
  EXPECT_EQ(r["stream"], true);
  EXPECT_EQ(r["stream_options"].at("include_usage"), true);
}

TEST(MessagesRequest, ToolChoiceForms) {
  const std::string tools = R"("tools":[{"name":"f","input_schema":{"type":"object"}}],)";
  auto base = [&](const std::string& choice) {
    return convert(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],)" + tools +
                   R"("tool_choice":)" + choice + "}");
  };
  EXPECT_EQ(base(R"({"type":"auto"})")["tool_choice"], "auto");
  EXPECT_EQ(base(R"({"type":"none"})")["tool_choice"], "none");
  EXPECT_EQ(base(R"({"type":"tool","name":"f"})")["tool_choice"].at("function").at("name"), "f");
}

TEST(MessagesRequest, WhatOpenAICannotCarryIsA400NamingTheField) {
  auto e = convert_error(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],
    "tools":[{"type":"web_search_20250305","name":"web_search"}]})");
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.param, "tools[0].type");
  e = convert_error(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
    {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"x"}}]}]})");
  EXPECT_EQ(e.param, "messages[0].content[0].type");
  e = convert_error(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"mcp_servers":[]})");
  EXPECT_EQ(e.param, "mcp_servers");
  e = convert_error(R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(e.param, "max_tokens");
  e = convert_error(R"({"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]})");
  EXPECT_EQ(e.param, "messages[0].role");
  // Found by fuzz_messages_request under ASan: the path of a tool result's part outlived its parent.
  e = convert_error(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result",
    "tool_use_id":"t","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"url","url":"u"}}]}]}]})");
  EXPECT_EQ(e.param, "messages[0].content[0].content[1]");
  e = convert_error(R"([1,2])");
  EXPECT_EQ(e.http_status, 400);
}

TEST(MessagesRequest, CountTokensNeedsNoMaxTokensAndEstimatesFromTextBytes) {
  std::string out;
  auto done = messages_to_chat_request(R"({"model":"m","system":"abcd","messages":[{"role":"user","content":"efghij"}]})",
                                       out, true);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->text_bytes, 10u);
  EXPECT_EQ(estimate_tokens_from_text(done->text_bytes), 3);  // 10 bytes / 4, rounded up
  EXPECT_EQ(estimate_tokens_from_text(0), 1);
}

TEST(MessagesRequest, VersionsAccepted) {
  EXPECT_TRUE(accepted_anthropic_version("2023-06-01"));
  EXPECT_TRUE(accepted_anthropic_version("2023-01-01"));
  EXPECT_TRUE(accepted_anthropic_version("2026-10-21"));  // what @anthropic-ai/sdk 1.15 sends
  EXPECT_FALSE(accepted_anthropic_version("2024-99-99"));
  EXPECT_FALSE(accepted_anthropic_version("2023-05-31"));
  EXPECT_FALSE(accepted_anthropic_version("2023-6-1"));
  EXPECT_FALSE(accepted_anthropic_version("latest"));
  EXPECT_FALSE(accepted_anthropic_version(""));
  EXPECT_EQ(anthropic_version_error("").message, "anthropic-version: header is required");
}

// --- events --------------------------------------------------------------------------------------

StreamEvent event(StreamEvent::Kind kind, std::string_view text = {}) {
  StreamEvent e;
  e.kind = kind;
  e.text = text;
  return e;
}

TEST(AnthropicEventWriter, TextStreamIsAnthropicsExactSequence) {
  std::string out;
  AnthropicEventWriter w;
  w.begin(&out, 0, false);
  StreamEvent start = event(StreamEvent::Kind::start);
  start.id = "msg_1";
  start.model = "m";
  w.on_event(start);
  w.on_event(event(StreamEvent::Kind::text, "Hel"));
  w.on_event(event(StreamEvent::Kind::text, "lo \\\"x\\\""));
  StreamEvent finish = event(StreamEvent::Kind::finish);
  finish.finish = FinishReason::length;
  w.on_event(finish);
  StreamEvent usage = event(StreamEvent::Kind::usage);
  usage.usage.prompt_tokens = 12;
  usage.usage.cached_tokens = 2;
  usage.usage.completion_tokens = 5;
  usage.usage.reported = true;
  w.on_event(usage);
  w.on_event(event(StreamEvent::Kind::done));
  EXPECT_TRUE(w.done());
  EXPECT_EQ(out,
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
            "\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
            "\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n"
            "event: ping\ndata: {\"type\":\"ping\"}\n\n"
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
            "{\"type\":\"text\",\"text\":\"\"}}\n\n"
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n"
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"lo \\\"x\\\"\"}}\n\n"
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\","
            "\"stop_sequence\":null},\"usage\":{\"input_tokens\":10,\"cache_creation_input_tokens\":0,"
            "\"cache_read_input_tokens\":2,\"output_tokens\":5}}\n\n"
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
}

// The data of each event, in order, as JSON.
std::vector<std::pair<std::string, bj::object>> events_of(const std::string& sse) {
  std::vector<std::pair<std::string, bj::object>> out;
  http::SseParser parser;
  parser.feed(sse, [&](const http::SseEvent& e) {
    auto v = bj::parse(e.data);
    EXPECT_EQ(v.at("type").as_string(), e.event);
    out.emplace_back(std::string(e.event), v.as_object());
    return true;
  });
  return out;
}

TEST(AnthropicEventWriter, ThinkingThenToolCallsOneBlockAtATime) {
  std::string out;
  AnthropicEventWriter w;
  w.begin(&out, 0, false);
  w.default_model("fallback-model");
  w.on_event(event(StreamEvent::Kind::reasoning, "think"));
  for (int i = 0; i < 2; ++i) {
    StreamEvent call = event(StreamEvent::Kind::tool_call);
    call.tool_index = i;
    call.id = i ? "call_b" : "call_a";
    call.name = "get_weather";
    w.on_event(call);
    StreamEvent args = event(StreamEvent::Kind::tool_arguments, "{\\\"city\\\":");
    args.tool_index = i;
    w.on_event(args);
    args.text = "\\\"Oslo\\\"}";
    w.on_event(args);
  }
  StreamEvent finish = event(StreamEvent::Kind::finish);
  finish.finish = FinishReason::tool_calls;
  w.on_event(finish);
  w.on_event(event(StreamEvent::Kind::done));
  auto events = events_of(out);
  std::vector<std::string> names;
  for (auto& [name, data] : events) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"message_start", "ping", "content_block_start", "content_block_delta",
                                             "content_block_stop", "content_block_start", "content_block_delta",
                                             "content_block_delta", "content_block_stop", "content_block_start",
                                             "content_block_delta", "content_block_delta", "content_block_stop",
                                             "message_delta", "message_stop"}));
  EXPECT_EQ(events[0].second.at("message").at("model"), "fallback-model");
  EXPECT_EQ(events[2].second.at("content_block").at("type"), "thinking");
  EXPECT_EQ(events[3].second.at("delta").at("type"), "thinking_delta");
  EXPECT_EQ(events[3].second.at("delta").at("thinking"), "think");
  EXPECT_EQ(events[5].second.at("index"), 1);
  EXPECT_EQ(events[5].second.at("content_block").at("id"), "call_a");
  std::string json = std::string(events[6].second.at("delta").at("partial_json").as_string()) +
                     std::string(events[7].second.at("delta").at("partial_json").as_string());
  EXPECT_EQ(bj::parse(json), bj::parse(R"({"city":"Oslo"})"));
  EXPECT_EQ(events[6].second.at("delta").at("type"), "input_json_delta");
  EXPECT_EQ(events[9].second.at("index"), 2);
  EXPECT_EQ(events[13].second.at("delta").at("stop_reason"), "tool_use");
}

TEST(AnthropicEventWriter, AnErrorIsAnErrorEventAndEndsTheStream) {
  std::string out;
  AnthropicEventWriter w;
  w.begin(&out, 0, false);
  w.on_event(event(StreamEvent::Kind::text, "partial"));
  StreamEvent error = event(StreamEvent::Kind::error, "Overloaded");
  error.error_type = "overloaded_error";
  w.on_event(error);
  w.on_event(event(StreamEvent::Kind::text, "more"));
  EXPECT_TRUE(w.failed());
  auto events = events_of(out);
  ASSERT_EQ(events.size(), 6u);  // start, ping, block start, delta, block stop, error
  EXPECT_EQ(events.back().first, "error");
  EXPECT_EQ(events.back().second.at("error").at("type"), "overloaded_error");
  EXPECT_EQ(events.back().second.at("error").at("message"), "Overloaded");
}

TEST(AnthropicErrors, GatewayErrorsTakeAnthropicsTypes) {
  auto of = [](int status, std::string type = {}) {
    Error e = Error::make(ErrorKind::upstream_error, "boom \"x\"");
    e.http_status = status;
    if (!type.empty()) e.type = type;
    return bj::parse(to_anthropic_error_json(e)).as_object();
  };
  EXPECT_EQ(of(400)["type"], "error");
  EXPECT_EQ(of(400)["error"].at("type"), "invalid_request_error");
  EXPECT_EQ(of(400)["error"].at("message"), "boom \"x\"");
  EXPECT_EQ(of(401)["error"].at("type"), "authentication_error");
  EXPECT_EQ(of(403)["error"].at("type"), "permission_error");
  EXPECT_EQ(of(404)["error"].at("type"), "not_found_error");
  EXPECT_EQ(of(429)["error"].at("type"), "rate_limit_error");
  EXPECT_EQ(of(500)["error"].at("type"), "api_error");
  EXPECT_EQ(of(502)["error"].at("type"), "api_error");
  EXPECT_EQ(of(529)["error"].at("type"), "overloaded_error");
  EXPECT_EQ(of(500, "overloaded_error")["error"].at("type"), "overloaded_error");
}

// --- OpenAI-shaped answers -----------------------------------------------------------------------

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A .chunks.jsonl recording (one chunk per line) as the SSE stream it was.
std::string as_sse(const std::string& name) {
  std::string body = fixture(name);
  if (!name.ends_with(".jsonl")) return body;
  std::string sse;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) sse += "data: " + line + "\n\n";
  return sse + "data: [DONE]\n\n";
}

// The stream through the decoder and the Anthropic writer, fed in two pieces split at `split`.
std::string translate(const std::string& sse, size_t split) {
  auto decoder = make_openai_decoder();
  AnthropicEventWriter writer;
  std::string out;
  writer.begin(&out, 0, false);
  writer.default_model("m");
  http::SseParser parser;
  auto feed = [&](std::string_view bytes) {
    parser.feed(bytes, [&](const http::SseEvent& e) {
      auto decoded = decoder->decode_event(e, writer);
      EXPECT_TRUE(decoded) << e.data;
      return bool(decoded);
    });
  };
  feed(std::string_view(sse).substr(0, split));
  feed(std::string_view(sse).substr(split));
  EXPECT_TRUE(writer.done());
  return out;
}

struct Summary {
  std::string text, thinking, stop_reason;
  std::vector<std::string> tool_names, tool_inputs;
  int64_t output_tokens = -1;
};

Summary summarize(const std::string& anthropic_sse) {
  Summary s;
  for (auto& [name, data] : events_of(anthropic_sse)) {
    if (name == "content_block_start" && data.at("content_block").at("type") == "tool_use") {
      s.tool_names.emplace_back(data.at("content_block").at("name").as_string());
      s.tool_inputs.emplace_back();
    } else if (name == "content_block_delta") {
      auto& d = data.at("delta").as_object();
      if (d.at("type") == "text_delta") s.text += d.at("text").as_string();
      if (d.at("type") == "thinking_delta") s.thinking += d.at("thinking").as_string();
      if (d.at("type") == "input_json_delta") s.tool_inputs.back() += d.at("partial_json").as_string();
    } else if (name == "message_delta") {
      s.stop_reason = data.at("delta").at("stop_reason").as_string();
      s.output_tokens = data.at("usage").at("output_tokens").as_int64();
    }
  }
  return s;
}

class OpenAIShapedFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(OpenAIShapedFixture, DecodesTheSameSplitAtEveryByte) {
  std::string sse = as_sse(GetParam());
  std::string whole = translate(sse, sse.size());
  Summary s = summarize(whole);
  EXPECT_FALSE(s.text.empty() && s.tool_names.empty() && s.thinking.empty()) << whole;
  for (const auto& input : s.tool_inputs) EXPECT_TRUE(bj::parse(input).is_object()) << input;
  for (size_t split = 0; split < sse.size(); ++split) {
    ASSERT_EQ(translate(sse, split), whole) << GetParam() << " split at " << split;
  }
}

INSTANTIATE_TEST_SUITE_P(Recorded, OpenAIShapedFixture,
                         ::testing::Values("openai/chat-stream-text-usage.sse.txt", "openai/chat-stream-tool-call.sse.txt",
                                           "openai/chat-stream-parallel-tool-calls.sse.txt",
                                           "openai/chat-stream-finish-length.sse.txt",
                                           "openai/chat-stream-refusal.sse.txt",
                                           "azure/chat-stream-content-filter.chunks.jsonl",
                                           "groq/chat-stream-tool-call.chunks.jsonl",
                                           "mistral/chat-stream-text.chunks.jsonl",
                                           "mistral/chat-stream-thinking.sse.txt",
                                           "mistral/chat-stream-tool-call.chunks.jsonl"));

TEST(OpenAIDecoder, KnownValuesOfTheRecordedStreams) {
  Summary usage = summarize(translate(as_sse("openai/chat-stream-text-usage.sse.txt"), 0));
  EXPECT_EQ(usage.stop_reason, "end_turn");
  EXPECT_EQ(usage.output_tokens, 30);
  Summary tool = summarize(translate(as_sse("openai/chat-stream-tool-call.sse.txt"), 0));
  ASSERT_EQ(tool.tool_names.size(), 1u);
  EXPECT_EQ(tool.tool_names[0], "GetWeatherArgs");
  EXPECT_EQ(bj::parse(tool.tool_inputs[0]).at("city"), "Edinburgh");
  EXPECT_EQ(tool.stop_reason, "tool_use");
  Summary parallel = summarize(translate(as_sse("openai/chat-stream-parallel-tool-calls.sse.txt"), 0));
  EXPECT_GE(parallel.tool_names.size(), 2u);
  Summary length = summarize(translate(as_sse("openai/chat-stream-finish-length.sse.txt"), 0));
  EXPECT_EQ(length.stop_reason, "max_tokens");
  Summary thinking = summarize(translate(as_sse("mistral/chat-stream-thinking.sse.txt"), 0));
  EXPECT_TRUE(thinking.thinking.starts_with("Okay, the user is")) << thinking.thinking;
}

TEST(OpenAIDecoder, BodiesBecomeAnthropicMessages) {
  for (const char* name : {"openai/chat-nonstream.json", "mistral/chat-nonstream-tool-call.json",
                           "azure/chat-nonstream-content-filter.json"}) {
    auto decoder = make_openai_decoder();
    ChatResponse response;
    std::string body = fixture(name);
    auto decoded = decoder->decode_body(body, response);
    ASSERT_TRUE(decoded) << name << ": " << decoded.error().message;
    std::string out;
    write_anthropic_message(response, out);
    auto v = bj::parse(out).as_object();
    EXPECT_EQ(v["type"], "message") << name;
    EXPECT_EQ(v["role"], "assistant");
    EXPECT_FALSE(v["content"].as_array().empty()) << out;
    auto expected = bj::parse(body).as_object();
    EXPECT_EQ(v["usage"].at("output_tokens"), expected["usage"].at("completion_tokens")) << name;
    for (auto& block : v["content"].as_array())
      if (block.at("type") == "tool_use") {
        EXPECT_TRUE(block.at("input").is_object());
      }
  }
  auto decoder = make_openai_decoder();
  ChatResponse response;
  ASSERT_TRUE(decoder->decode_body(fixture("openai/chat-nonstream.json"), response));
  std::string out;
  write_anthropic_message(response, out);
  auto v = bj::parse(out).as_object();
  EXPECT_EQ(v["usage"].at("input_tokens"), 16);
  EXPECT_EQ(v["stop_reason"], "end_turn");
  EXPECT_TRUE(std::string(v["content"].as_array()[0].at("text").as_string()).starts_with("**Holiday Name:**"));
}

TEST(OpenAIDecoder, AnErrorChunkIsAnErrorEvent) {
  auto decoder = make_openai_decoder();
  AnthropicEventWriter writer;
  std::string out;
  writer.begin(&out, 0, false);
  http::SseEvent e;
  e.data = R"({"error":{"message":"upstream fell over","type":"server_error"}})";
  ASSERT_TRUE(decoder->decode_event(e, writer));
  EXPECT_TRUE(writer.failed());
  EXPECT_NE(out.find("event: error"), std::string::npos);
  e.data = "{not json";
  EXPECT_FALSE(decoder->decode_event(e, writer));
}

}  // namespace
}  // namespace llmux::providers
