// The aws-bedrock adapter: OpenAI requests into Converse requests, and Converse bodies and the
// recorded ConverseStream event-streams (shared/fixtures/providers/bedrock) back into OpenAI's
// format, through the exchange's StreamFramer at every split of the bytes. Expected values are
// computed from the fixtures with Boost.JSON, independently of the adapter's simdjson code.
#include "providers/bedrock/bedrock.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "openai_assembly.hpp"
#include "providers/bedrock/eventstream_writer.hpp"
#include "providers/openai_output.hpp"
#include "server/stream_framing.hpp"

namespace llmux::providers {
namespace {

namespace bj = boost::json;
using test::Assembled;
using test::assemble_openai;
using test::jsonl;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/bedrock/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bj::object translate(const std::string& openai_body, std::string_view model = "us.anthropic.claude-sonnet-4-v1:0") {
  std::string out;
  auto done = translate_bedrock_request(openai_body, model, {}, out);
  EXPECT_TRUE(done) << (done ? "" : done.error().message);
  boost::system::error_code ec;
  auto v = bj::parse(out, ec);
  EXPECT_FALSE(ec) << out;
  return ec || !v.is_object() ? bj::object{} : v.as_object();
}

Error refusal(const std::string& openai_body, std::string_view model = "amazon.nova-micro-v1:0") {
  std::string out;
  auto done = translate_bedrock_request(openai_body, model, {}, out);
  EXPECT_FALSE(done) << out;
  return done ? Error{} : done.error();
}

TEST(BedrockRequest, MessagesToolsAndInferenceConfigInConversesShape) {
  auto got = translate(R"({"model":"m","max_tokens":50,"temperature":0.2,"top_p":0.9,"stop":"END","user":"u-1",
    "messages":[{"role":"system","content":"Be brief."},
      {"role":"user","content":[{"type":"text","text":"Weather?"},
        {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
        {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":""}}]},
      {"role":"tool","tool_call_id":"call_1","content":"18C"},
      {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"20C"}]},
      {"role":"user","content":"Thanks"}],
    "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now",
      "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
    "tool_choice":{"type":"function","function":{"name":"get_weather"}}})");
  auto want = bj::parse(R"({
    "messages":[
      {"role":"user","content":[{"text":"Weather?"},{"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}}]},
      {"role":"assistant","content":[
        {"toolUse":{"toolUseId":"call_1","name":"get_weather","input":{"city":"Paris"}}},
        {"toolUse":{"toolUseId":"call_2","name":"get_weather","input":{}}}]},
      {"role":"user","content":[
        {"toolResult":{"toolUseId":"call_1","content":[{"text":"18C"}]}},
        {"toolResult":{"toolUseId":"call_2","content":[{"text":"20C"}]}},
        {"text":"Thanks"}]}],
    "system":[{"text":"Be brief."}],
    "inferenceConfig":{"maxTokens":50,"temperature":0.2,"topP":0.9,"stopSequences":["END"]},
    "toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"Weather now",
      "inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}}}}}}],
      "toolChoice":{"tool":{"name":"get_weather"}}},
    "requestMetadata":{"user":"u-1"}})");
  EXPECT_EQ(bj::value(got), want) << bj::serialize(got);
}

TEST(BedrockRequest, TheRecordedRequestsComeOutOfTheirOpenAIEquivalents) {
  // converse-stream-text.request.json: a system prompt and temperature 0.
  auto got = translate(R"({"model":"m","temperature":0.0,"messages":[{"role":"system","content":"You are a helpful chatbot."},
    {"role":"user","content":"What is the capital of France?"}]})");
  auto recorded = bj::parse(fixture("converse-stream-text.request.json")).as_object();
  EXPECT_EQ(got.at("messages"), recorded.at("messages"));
  EXPECT_EQ(got.at("system"), recorded.at("system"));
  EXPECT_EQ(got.at("inferenceConfig"), recorded.at("inferenceConfig"));
  // converse-stream-reasoning.request.json: thinking with a budget of 1024 for a Claude model.
  got = translate(R"({"model":"m","reasoning_effort":"low","messages":[{"role":"user","content":"Hello"}]})");
  recorded = bj::parse(fixture("converse-stream-reasoning.request.json")).as_object();
  EXPECT_EQ(got.at("additionalModelRequestFields"), recorded.at("additionalModelRequestFields"));
  EXPECT_EQ(got.at("messages"), recorded.at("messages"));
}

TEST(BedrockRequest, ToolChoiceModes) {
  std::string tools = R"("tools":[{"type":"function","function":{"name":"f"}}])";
  auto with = [&](std::string choice) {
    return translate(R"({"messages":[{"role":"user","content":"x"}],)" + tools + R"(,"tool_choice":)" + choice + "}");
  };
  EXPECT_EQ(with("\"auto\"").at("toolConfig").at("toolChoice"), bj::parse(R"({"auto":{}})"));
  EXPECT_EQ(with("\"required\"").at("toolConfig").at("toolChoice"), bj::parse(R"({"any":{}})"));
  // A tool without parameters still needs an input schema.
  EXPECT_EQ(with("\"auto\"").at("toolConfig").at("tools").at(0).at("toolSpec").at("inputSchema"),
            bj::parse(R"({"json":{"type":"object","properties":{}}})"));
  EXPECT_FALSE(with("\"none\"").contains("toolConfig"));  // Converse has no "none": no tools are offered
}

TEST(BedrockRequest, WhatConverseCannotExpressIsA400NamingTheField) {
  std::string user = R"("messages":[{"role":"user","content":"x"}])";
  for (const char* field : {"seed", "presence_penalty", "frequency_penalty", "logit_bias"}) {
    Error e = refusal("{" + user + ",\"" + field + "\":1}");
    EXPECT_EQ(e.param, field);
    EXPECT_EQ(e.kind, ErrorKind::invalid_request);
  }
  EXPECT_EQ(refusal("{" + user + R"(,"n":2})").param, "n");
  EXPECT_EQ(refusal("{" + user + R"(,"response_format":{"type":"json_object"}})").param, "response_format");
  EXPECT_EQ(refusal("{" + user + R"(,"parallel_tool_calls":false})").param, "parallel_tool_calls");
  EXPECT_EQ(refusal("{" + user + R"(,"reasoning_effort":"high"})").param, "reasoning_effort");  // a Nova model
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]})")
                .param,
            "messages[0].content[0].image_url.url");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"user","content":[{"type":"input_audio"}]}]})").param,
            "messages[0].content[0].type");
  EXPECT_EQ(refusal(R"({"messages":[{"role":"system","content":"only a system prompt"}]})").param, "messages");
}

TEST(BedrockProviderTest, ModelIdsAreOnePathSegmentAndRequestsAreSigned) {
  EXPECT_EQ(bedrock_model_segment("us.amazon.nova-micro-v1:0"), "us.amazon.nova-micro-v1%3A0");  // as recorded
  EXPECT_EQ(bedrock_model_segment("arn:aws:bedrock:us-east-1:123:inference-profile/us.x-v1:0"),
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.x-v1%3A0");
  ProviderConfig c;
  c.id = "br";
  c.type = "aws-bedrock";
  c.base_url = "https://bedrock-runtime.eu-west-1.amazonaws.com/v1";
  c.aws.region = "eu-west-1";
  c.aws.access_key_id = "AKIDEXAMPLE";
  c.aws.secret_access_key = Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  c.aws.session_token = Secret("session-token-value");
  BedrockProvider p(c);
  EXPECT_EQ(p.credential_source(), "config");
  EXPECT_EQ(p.endpoint_url(Endpoint::models), "https://bedrock.eu-west-1.amazonaws.com/foundation-models");
  json::RequestFields fields;
  std::string body = R"({"model":"x","messages":[{"role":"user","content":"hi"}]})";
  EncodeInput in{Endpoint::chat_completions, body, &fields, "us.amazon.nova-micro-v1:0", "req-1", true};
  auto request = p.encode(in);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->url,
            "https://bedrock-runtime.eu-west-1.amazonaws.com/model/us.amazon.nova-micro-v1%3A0/converse-stream");
  std::string headers;
  for (const auto& h : request->headers) headers += h + "\n";
  EXPECT_NE(headers.find("Accept: application/vnd.amazon.eventstream\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("x-amz-security-token: session-token-value\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), std::string::npos) << headers;
  EXPECT_NE(headers.find("/eu-west-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, "
                         "Signature="),
            std::string::npos)
      << headers;
  EXPECT_FALSE(p.encode({Endpoint::embeddings, body, &fields, "m", "", false}));
  // The secret never leaves through an upstream's error text.
  Error e = p.decode_error(403, R"({"message":"bad key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"})", "");
  EXPECT_EQ(e.message.find("EXAMPLEKEY"), std::string::npos) << e.message;
  EXPECT_EQ(e.type, "permission_error");
}

// A provider with a Bedrock API key (nothing to sign), for what does not depend on credentials.
ProviderConfig api_key_config() {
  ProviderConfig c;
  c.id = "br";
  c.type = "aws-bedrock";
  c.base_url = "http://127.0.0.1:1/v1";
  c.api_key = Secret("bedrock-api-key-123456");
  return c;
}

TEST(BedrockProviderTest, ErrorBodiesKeepBedrocksMessageAndMapTheType) {
  BedrockProvider p(api_key_config());
  Error e = p.decode_error(400, fixture("error-400-invalid-model-converse.json"), "");
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_NE(e.message.find("The provided model identifier is invalid."), std::string::npos) << e.message;
  e = p.decode_error(429, R"({"message":"Too many requests","__type":"com.amazon#ThrottlingException"})", "3");
  EXPECT_EQ(e.type, "rate_limit_error");
  EXPECT_EQ(e.code, "ThrottlingException");
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(bedrock_error_type("serviceUnavailableException", 0), "upstream_error");
  EXPECT_EQ(bedrock_error_type("ValidationException", 0), "invalid_request_error");
  EXPECT_EQ(bedrock_error_type("", 404), "not_found_error");
}

TEST(BedrockProviderTest, TheErrorTypeHeaderNamesTheException) {
  BedrockProvider p(api_key_config());
  const std::string body = R"({"message":"The model failed."})";
  // 424 alone reads as a client error; the header says the model failed upstream.
  Error e = p.decode_error_with_type(424, body, "", "ModelErrorException:http://internal.amazon.com/coral/com.amazon.bedrock/");
  EXPECT_EQ(e.type, "upstream_error");
  EXPECT_EQ(e.code, "ModelErrorException");
  EXPECT_EQ(e.http_status, 424);
  EXPECT_NE(e.message.find("The model failed."), std::string::npos) << e.message;
  Error without = p.decode_error_with_type(424, body, "", "");
  EXPECT_EQ(without.type, "invalid_request_error");
  EXPECT_NE(without.code, "ModelErrorException");
  EXPECT_EQ(p.decode_error_with_type(408, body, "", " ModelTimeoutException:http://x/ ").type, "upstream_timeout");
  // The header wins over a body's __type; a bare name (no ':') is read as well.
  e = p.decode_error_with_type(400, R"({"message":"m","__type":"com.amazon#ValidationException"})", "",
                               "ServiceQuotaExceededException");
  EXPECT_EQ(e.type, "rate_limit_error");
  EXPECT_EQ(e.code, "ServiceQuotaExceededException");
}

TEST(BedrockProviderTest, AProbePathIsSentUnderTheBaseUrlAndSigned) {
  ProviderConfig c = api_key_config();
  c.api_key = Secret();
  c.base_url = "http://127.0.0.1:1/bedrock";
  c.aws.region = "us-west-2";
  c.aws.access_key_id = "AKIDEXAMPLE";
  c.aws.secret_access_key = Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  BedrockProvider p(c);
  auto probe = p.probe_request("/foundation-models?byOutputModality=TEXT");
  EXPECT_EQ(probe.method, "GET");
  EXPECT_EQ(probe.url, "http://127.0.0.1:1/bedrock/foundation-models?byOutputModality=TEXT");
  std::string headers;
  for (const auto& h : probe.headers) headers += h + "\n";
  EXPECT_NE(headers.find("Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), std::string::npos) << headers;
  EXPECT_EQ(p.probe_request("").url, p.list_models_request().url);
}

// --- responses ------------------------------------------------------------------------------------

// The reference: ConverseStream events ({"<eventType>": payload}) read with Boost.JSON.
Assembled expected_from_events(const std::vector<std::pair<std::string, bj::object>>& events) {
  Assembled a;
  bool stopped = false, metered = false;
  for (const auto& [type, e] : events) {
    if (type == "contentBlockStart" && e.at("start").as_object().contains("toolUse")) {
      auto& t = e.at("start").at("toolUse").as_object();
      a.calls.push_back({std::string(t.at("toolUseId").as_string()), std::string(t.at("name").as_string()), ""});
    }
    if (type == "contentBlockDelta") {
      auto& d = e.at("delta").as_object();
      if (auto* t = d.if_contains("text")) a.text += t->as_string();
      if (auto* t = d.if_contains("toolUse")) a.calls.back().arguments += t->at("input").as_string();
      if (auto* r = d.if_contains("reasoningContent"); r && r->as_object().contains("text"))
        a.reasoning += r->at("text").as_string();
    }
    if (type == "messageStop") {
      std::string_view reason = e.at("stopReason").as_string();
      a.finish = reason == "tool_use" ? "tool_calls" : reason == "max_tokens" ? "length" : "stop";
      stopped = true;
    }
    if (type == "metadata") {
      a.prompt_tokens = e.at("usage").at("inputTokens").to_number<int64_t>();
      a.completion_tokens = e.at("usage").at("outputTokens").to_number<int64_t>();
      metered = true;
    }
  }
  a.done = stopped && metered;
  return a;
}

std::string translate_split(const std::string& bytes, size_t at, ResponseDecoder& decoder) {
  server::StreamFramer framer;
  framer.reset(decoder.stream_framing());
  OpenAIChunkWriter writer;
  std::string out;
  decoder.reset();
  writer.begin(&out, 1700000000, true);
  writer.default_model("us.amazon.nova-micro-v1:0");
  auto on_event = [&](const http::SseEvent& event) {
    if (auto decoded = decoder.decode_event(event, writer); !decoded) writer.fail(decoded.error());
    return !writer.ended();
  };
  at = std::min(at, bytes.size());
  if (framer.feed(std::string_view(bytes).substr(0, at), on_event)) framer.feed(std::string_view(bytes).substr(at), on_event);
  return out;
}

struct Recording {
  std::string bytes;  // the event-stream
  std::vector<std::pair<std::string, bj::object>> events;
};

// A .eventstream.bin with its .decoded.jsonl, or a .chunks.jsonl framed here.
Recording recording(const std::string& name) {
  Recording r;
  if (name.ends_with(".chunks.jsonl")) {
    for (const auto& line : jsonl(fixture(name))) {
      bj::value parsed = bj::parse(line);
      auto& o = parsed.as_object();
      auto& [type, payload] = *o.begin();
      r.events.emplace_back(std::string(type), payload.as_object());
      bedrock::append_event(r.bytes, type, bj::serialize(payload));
    }
    return r;
  }
  r.bytes = fixture(name + ".eventstream.bin");
  for (const auto& line : jsonl(fixture(name + ".decoded.jsonl"))) {
    auto o = bj::parse(line).as_object();
    r.events.emplace_back(std::string(o.at("headers").at(":event-type").as_string()), o.at("payload").as_object());
  }
  return r;
}

class BedrockRecordedStream : public ::testing::TestWithParam<const char*> {};

TEST_P(BedrockRecordedStream, TranslatesToTheSameAnswerInOpenAIChunks) {
  Recording r = recording(GetParam());
  auto decoder = make_bedrock_decoder();
  Assembled got = assemble_openai(translate_split(r.bytes, r.bytes.size(), *decoder));
  Assembled want = expected_from_events(r.events);
  want.id = got.id;  // Bedrock's events carry no id or model: the writer's
  want.model = "us.amazon.nova-micro-v1:0";
  test::expect_same(want, got);
  EXPECT_TRUE(got.done);
}

TEST_P(BedrockRecordedStream, EverySplitOfTheBytesGivesTheSameChunks) {
  Recording r = recording(GetParam());
  auto decoder = make_bedrock_decoder();
  std::string whole = translate_split(r.bytes, r.bytes.size(), *decoder);
  for (size_t at = 0; at <= r.bytes.size(); ++at)
    ASSERT_EQ(translate_split(r.bytes, at, *decoder), whole) << "split at " << at;
}

INSTANTIATE_TEST_SUITE_P(Bedrock, BedrockRecordedStream,
                         ::testing::Values("converse-stream-text", "converse-stream-tool-use", "converse-stream-reasoning",
                                           "converse-stream-text.chunks.jsonl", "converse-stream-tool-use.chunks.jsonl"));

std::string base64_fixture_bytes() {
  // The recorded exception frame, decoded by hand-rolled base64 (the test's own, not the adapter's).
  std::string text = fixture("converse-stream-model-stream-error.eventstream.base64.txt");
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    size_t v = kAlphabet.find(c);
    if (v == std::string::npos) continue;
    bits = bits << 6 | static_cast<uint32_t>(v);
    if ((count += 6) >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  return out;
}

// The first `n` messages of an event-stream, by the lengths in their preludes.
std::string first_messages(const std::string& bytes, int n) {
  size_t at = 0;
  for (int i = 0; i < n; ++i) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
    at += static_cast<size_t>(p[0]) << 24 | static_cast<size_t>(p[1]) << 16 | static_cast<size_t>(p[2]) << 8 | p[3];
  }
  return bytes.substr(0, at);
}

TEST(BedrockStream, ExceptionsAreErrorEventsAndACorruptStreamIsRefused) {
  auto decoder = make_bedrock_decoder();
  Recording r = recording("converse-stream-text");
  // The recorded modelStreamErrorException after the first messages: an error event, no [DONE].
  std::string first_three = first_messages(r.bytes, 3);
  std::string failing = first_three + base64_fixture_bytes();
  Assembled got = assemble_openai(translate_split(failing, failing.size(), *decoder));
  EXPECT_FALSE(got.done);
  EXPECT_EQ(got.text, "The capital of France is Paris.");
  EXPECT_EQ(got.error_type, "upstream_error");
  EXPECT_EQ(got.error_message, "modelStreamErrorException: Model Stream Error");
  // Every mapped exception name.
  for (auto [name, type] : {std::pair{"throttlingException", "rate_limit_error"},
                            std::pair{"validationException", "invalid_request_error"},
                            std::pair{"internalServerException", "upstream_error"},
                            std::pair{"serviceUnavailableException", "upstream_error"}}) {
    std::string stream = first_three;
    bedrock::append_exception(stream, name, R"({"message":"it failed"})");
    got = assemble_openai(translate_split(stream, stream.size(), *decoder));
    EXPECT_EQ(got.error_type, type) << name;
    EXPECT_EQ(got.error_message, std::string(name) + ": it failed");
  }
  // A flipped payload byte: the CRC refuses the message and the stream ends in an error.
  std::string corrupt = r.bytes;
  corrupt[first_three.size() + 60] ^= 0x01;
  got = assemble_openai(translate_split(corrupt, corrupt.size(), *decoder));
  EXPECT_FALSE(got.done);
  EXPECT_NE(got.error_message.find("event-stream message CRC mismatch"), std::string::npos) << got.error_message;
  // Cut before metadata: never done.
  std::string cut = r.bytes.substr(0, r.bytes.size() - 10);
  EXPECT_FALSE(assemble_openai(translate_split(cut, cut.size(), *decoder)).done);
}

TEST(BedrockBody, TextAndToolUseResponses) {
  auto decoder = make_bedrock_decoder();
  ChatResponse r;
  ASSERT_TRUE(decoder->decode_body(fixture("converse.json"), r));
  auto source = bj::parse(fixture("converse.json")).as_object();
  std::string text;
  for (auto piece : r.text) text += bj::parse("\"" + std::string(piece) + "\"").as_string();
  EXPECT_EQ(text, source.at("output").at("message").at("content").at(0).at("text").as_string());
  EXPECT_EQ(r.finish, FinishReason::stop);
  EXPECT_EQ(r.usage.prompt_tokens, 22);
  EXPECT_EQ(r.usage.completion_tokens, 57);
  EXPECT_EQ(r.usage.total_tokens, 79);

  ASSERT_TRUE(decoder->decode_body(fixture("converse-tool-use.json"), r));
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].id, "tool-use-id");
  EXPECT_EQ(r.tool_calls[0].name, "bash");
  EXPECT_EQ(r.tool_calls[0].arguments_json, R"({"command":"ls -l"})");
  EXPECT_EQ(r.finish, FinishReason::tool_calls);

  // Reasoning blocks, and cached tokens counted into the prompt as OpenAI counts them.
  ASSERT_TRUE(decoder->decode_body(R"({"output":{"message":{"role":"assistant","content":[
      {"reasoningContent":{"reasoningText":{"text":"Think.","signature":"sig"}}},{"text":"Answer."}]}},
      "stopReason":"max_tokens","usage":{"inputTokens":10,"outputTokens":5,"totalTokens":15,
      "cacheReadInputTokens":100,"cacheWriteInputTokens":20}})",
                                   r));
  ASSERT_EQ(r.reasoning.size(), 1u);
  EXPECT_EQ(r.reasoning[0], "Think.");
  EXPECT_EQ(r.finish, FinishReason::length);
  EXPECT_EQ(r.usage.prompt_tokens, 130);
  EXPECT_EQ(r.usage.cached_tokens, 100);
  EXPECT_EQ(r.usage.cache_write_tokens, 20);
  EXPECT_EQ(r.usage.total_tokens, 135);
  EXPECT_FALSE(decoder->decode_body(R"({"stopReason":"end_turn"})", r));
}

// Claude's reasoning signature in the recorded stream comes out as a thinking_blocks delta; given
// back on an assistant message, thinking_blocks become reasoningContent blocks ahead of its text.
TEST(BedrockThinkingBlocks, TheRecordedSignatureStreamsOutAndBlocksGoBackAsReasoningContent) {
  Recording r = recording("converse-stream-reasoning");
  std::string signature;
  for (auto& [type, payload] : r.events)
    if (type == "contentBlockDelta")
      if (auto* reasoning = payload.at("delta").as_object().if_contains("reasoningContent"))
        if (auto* s = reasoning->as_object().if_contains("signature")) signature = s->as_string();
  ASSERT_FALSE(signature.empty());
  auto decoder = make_bedrock_decoder();
  std::string sse = translate_split(r.bytes, r.bytes.size(), *decoder);
  std::string streamed;
  http::SseParser parser;
  parser.feed(sse, [&](const http::SseEvent& event) {
    if (event.data == "[DONE]") return true;
    auto chunk = bj::parse(event.data).as_object();
    if (chunk["choices"].as_array().empty()) return true;
    auto& delta = chunk["choices"].as_array()[0].as_object()["delta"].as_object();
    if (auto* blocks = delta.if_contains("thinking_blocks")) streamed = blocks->at(0).at("signature").as_string();
    return true;
  });
  EXPECT_EQ(streamed, signature);

  auto body = translate(R"({"model":"m","messages":[{"role":"user","content":"Weather?"},
    {"role":"assistant","content":"Looking.","thinking_blocks":[{"type":"thinking","thinking":"Need the tool.","signature":"SIG1"},
      {"type":"redacted_thinking","data":"UkVE"}],
     "tool_calls":[{"id":"t1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
    {"role":"tool","tool_call_id":"t1","content":"12C"}]})");
  auto content = body["messages"].as_array()[1].as_object()["content"].as_array();
  ASSERT_EQ(content.size(), 4u) << bj::serialize(body);
  EXPECT_EQ(content[0], bj::parse(R"({"reasoningContent":{"reasoningText":{"text":"Need the tool.","signature":"SIG1"}}})"));
  EXPECT_EQ(content[1], bj::parse(R"({"reasoningContent":{"redactedContent":"UkVE"}})"));
  EXPECT_EQ(content[2], bj::parse(R"({"text":"Looking."})"));
  EXPECT_TRUE(content[3].as_object().contains("toolUse"));
}

}  // namespace
}  // namespace llmux::providers
