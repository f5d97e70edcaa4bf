// The fake provider's Anthropic Messages API, over real HTTP against the real binary: the wire
// format of the recorded fixtures, the knobs, and the same answer and token counts as the OpenAI
// side for the same conversation.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

struct Event {
  std::string name;
  std::string data;
};

// "event: NAME\ndata: JSON\n\n" blocks, in order.
std::vector<Event> sse_events(const std::string& body) {
  std::vector<Event> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    std::string block = body.substr(pos, end - pos);
    pos = end + 2;
    Event e;
    std::size_t line_start = 0;
    while (line_start < block.size()) {
      auto nl = block.find('\n', line_start);
      if (nl == std::string::npos) nl = block.size();
      std::string line = block.substr(line_start, nl - line_start);
      if (line.rfind("event: ", 0) == 0) e.name = line.substr(7);
      else if (line.rfind("data: ", 0) == 0) e.data = line.substr(6);
      line_start = nl + 1;
    }
    if (!e.name.empty() || !e.data.empty()) out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> names(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (auto& e : events) out.push_back(e.name);
  return out;
}

std::vector<std::string> repeat(std::vector<std::string> head, const std::string& name, int n,
                                std::vector<std::string> tail) {
  for (int i = 0; i < n; ++i) head.push_back(name);
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

const std::vector<std::string> kHeaders = {"Content-Type: application/json", "anthropic-version: 2023-06-01",
                                           "x-api-key: test-key"};

const char* kWeatherTool =
    R"({"name":"get_weather","description":"Current weather","input_schema":{"type":"object",)"
    R"("properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},)"
    R"("days":{"type":"integer"}},"required":["city"]}})";

class FakeAnthropicTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fake_ = new FakeProvider(start_fake({"--require-key", "test-key"})); }
  static void TearDownTestSuite() { delete fake_; }

  static std::string url(const std::string& path) { return fake_->base_url() + path; }
  static HttpResponse messages(const std::string& body, std::vector<std::string> extra_headers = {}) {
    auto headers = kHeaders;
    headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
    return http_post(url("/messages"), body, headers);
  }
  static std::string request(const std::string& fields) {
    return R"({"model":"fake-model","max_tokens":256,"messages":[{"role":"user","content":"what is llmux?"}])" +
           fields + "}";
  }

  static FakeProvider* fake_;
};
FakeProvider* FakeAnthropicTest::fake_ = nullptr;

void expect_error(const HttpResponse& r, long status, const std::string& type, const std::string& message = {}) {
  ASSERT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v.size(), 3u) << r.body;
  EXPECT_EQ(v.at("type").as_string(), "error");
  auto& error = v.at("error").as_object();
  EXPECT_EQ(error.size(), 2u) << r.body;
  EXPECT_EQ(error.at("type").as_string(), type);
  if (!message.empty()) {
    EXPECT_EQ(error.at("message").as_string(), message);
  }
  std::string id(v.at("request_id").as_string());
  EXPECT_EQ(id.rfind("req_fake", 0), 0u) << id;
  EXPECT_EQ(r.header("request-id"), id);
}

TEST_F(FakeAnthropicTest, NonStreamTextMessage) {
  auto r = messages(request(R"(,"system":"Be brief.")"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto v = json::parse(r.body).as_object();
  std::string id(v.at("id").as_string());
  EXPECT_EQ(id.rfind("msg_fake", 0), 0u) << id;
  EXPECT_EQ(id.size(), std::string("msg_01VdEjxAP5ahtHKrrRdNBteQ").size()) << "as long as a real id";
  EXPECT_EQ(v.at("type").as_string(), "message");
  EXPECT_EQ(v.at("role").as_string(), "assistant");
  EXPECT_EQ(v.at("model").as_string(), "fake-model");
  auto& content = v.at("content").as_array();
  ASSERT_EQ(content.size(), 1u);
  EXPECT_EQ(content[0].as_object().size(), 2u);
  EXPECT_EQ(content[0].at("type").as_string(), "text");
  EXPECT_EQ(content[0].at("text").as_string(), "Hello from llmux-fake-provider. You said: what is llmux?");
  EXPECT_EQ(v.at("stop_reason").as_string(), "end_turn");
  EXPECT_TRUE(v.at("stop_sequence").is_null());
  auto& usage = v.at("usage").as_object();
  EXPECT_EQ(usage.size(), 4u);
  EXPECT_EQ(usage.at("input_tokens").as_int64(), (8 + 14 + 3) / 4);  // system + message code points
  EXPECT_EQ(usage.at("cache_creation_input_tokens").as_int64(), 0);
  EXPECT_EQ(usage.at("cache_read_input_tokens").as_int64(), 0);
  EXPECT_EQ(usage.at("output_tokens").as_int64(), 8);  // words of the answer
}

// The same conversation through both APIs: same text, same token counts.
TEST_F(FakeAnthropicTest, SameAnswerAndTokensAsOpenAi) {
  auto anthropic = json::parse(messages(R"({"model":"fake-model","max_tokens":4,"system":[{"type":"text","text":"You are terse."}],)"
                                        R"("messages":[{"role":"user","content":[{"type":"text","text":"first question"}]},)"
                                        R"({"role":"assistant","content":"an answer"},)"
                                        R"({"role":"user","content":[{"type":"text","text":"héllo"},{"type":"text","text":"again"}]}]})")
                                   .body)
                       .as_object();
  auto openai = json::parse(http_post(url("/chat/completions"),
                                      R"({"model":"fake-model","max_tokens":4,"messages":[)"
                                      R"({"role":"system","content":"You are terse."},)"
                                      R"({"role":"user","content":"first question"},)"
                                      R"({"role":"assistant","content":"an answer"},)"
                                      R"({"role":"user","content":[{"type":"text","text":"héllo"},{"type":"text","text":"again"}]}]})",
                                      {"Content-Type: application/json", "Authorization: Bearer test-key"})
                                .body)
                    .as_object();
  EXPECT_EQ(anthropic.at("content").at(0).at("text"), openai.at("choices").at(0).at("message").at("content"));
  EXPECT_EQ(anthropic.at("stop_reason").as_string(), "max_tokens");
  EXPECT_EQ(openai.at("choices").at(0).at("finish_reason").as_string(), "length");
  EXPECT_EQ(anthropic.at("usage").at("input_tokens"), openai.at("usage").at("prompt_tokens"));
  EXPECT_EQ(anthropic.at("usage").at("output_tokens"), openai.at("usage").at("completion_tokens"));

  // A turn of tool results counts like OpenAI "tool" messages, and is not what the user said.
  auto after_tool = json::parse(messages(R"({"model":"fake-model","max_tokens":100,"tools":[)" + std::string(kWeatherTool) +
                                         R"(],"messages":[{"role":"user","content":"weather?"},)"
                                         R"({"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Oslo"}}]},)"
                                         R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny, 21 degrees"}]}]})")
                                    .body)
                        .as_object();
  auto openai_tool = json::parse(http_post(url("/chat/completions"),
                                           R"({"model":"fake-model","messages":[{"role":"user","content":"weather?"},)"
                                           R"({"role":"assistant","content":null,"tool_calls":[{"id":"toolu_1","type":"function",)"
                                           R"("function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},)"
                                           R"({"role":"tool","tool_call_id":"toolu_1","content":"sunny, 21 degrees"}]})",
                                           {"Content-Type: application/json", "Authorization: Bearer test-key"})
                                     .body)
                         .as_object();
  EXPECT_EQ(after_tool.at("stop_reason").as_string(), "end_turn");
  EXPECT_EQ(after_tool.at("content").at(0).at("text"), openai_tool.at("choices").at(0).at("message").at("content"));
  EXPECT_EQ(after_tool.at("usage").at("input_tokens"), openai_tool.at("usage").at("prompt_tokens"));
}

TEST_F(FakeAnthropicTest, StreamEventsInOrderAndTextMatchesNonStream) {
  auto plain = json::parse(messages(request("")).body);
  auto r = messages(request(R"(,"stream":true,"fake":{"chunks":4})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream; charset=utf-8");
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
  auto events = sse_events(r.body);
  EXPECT_EQ(names(events), repeat({"message_start", "content_block_start", "ping"}, "content_block_delta", 4,
                                  {"content_block_stop", "message_delta", "message_stop"}));
  ASSERT_EQ(events.size(), 10u);

  auto start = json::parse(events[0].data).as_object();
  EXPECT_EQ(start.at("type").as_string(), "message_start");
  auto& message = start.at("message").as_object();
  EXPECT_EQ(std::string(message.at("id").as_string()).rfind("msg_fake", 0), 0u);
  EXPECT_EQ(message.at("type").as_string(), "message");
  EXPECT_EQ(message.at("role").as_string(), "assistant");
  EXPECT_EQ(message.at("model").as_string(), "fake-model");
  EXPECT_TRUE(message.at("content").as_array().empty());
  EXPECT_TRUE(message.at("stop_reason").is_null());
  EXPECT_TRUE(message.at("stop_sequence").is_null());
  EXPECT_EQ(message.at("usage").at("input_tokens"), plain.at("usage").at("input_tokens"));
  EXPECT_EQ(message.at("usage").at("cache_creation_input_tokens").as_int64(), 0);
  EXPECT_EQ(message.at("usage").at("cache_read_input_tokens").as_int64(), 0);
  EXPECT_EQ(message.at("usage").at("output_tokens").as_int64(), 1);

  EXPECT_EQ(json::parse(events[1].data),
            json::parse(R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"));
  EXPECT_EQ(events[2].data, R"({"type": "ping"})");
  std::string text;
  for (int i = 3; i < 7; ++i) {
    auto d = json::parse(events[i].data).as_object();
    EXPECT_EQ(d.at("type").as_string(), "content_block_delta");
    EXPECT_EQ(d.at("index").as_int64(), 0);
    EXPECT_EQ(d.at("delta").at("type").as_string(), "text_delta");
    text += d.at("delta").at("text").as_string();
  }
  EXPECT_EQ(text, plain.at("content").at(0).at("text").as_string());
  EXPECT_EQ(json::parse(events[7].data), json::parse(R"({"type":"content_block_stop","index":0})"));
  auto delta = json::parse(events[8].data).as_object();
  EXPECT_EQ(delta.at("type").as_string(), "message_delta");
  EXPECT_EQ(delta.at("delta"), json::parse(R"({"stop_reason":"end_turn","stop_sequence":null})"));
  EXPECT_EQ(delta.at("usage"), json::object({{"output_tokens", plain.at("usage").at("output_tokens")}}));
  EXPECT_EQ(events[9].data, R"({"type":"message_stop"})");

  // The same `chunks` cuts the text into the same pieces as the OpenAI stream.
  auto openai = http_post(url("/chat/completions"),
                          R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"what is llmux?"}],"fake":{"chunks":4}})",
                          {"Content-Type: application/json", "Authorization: Bearer test-key"});
  auto data = sse_data(openai.body);
  ASSERT_EQ(data.size(), 7u) << openai.body;  // role, 4 pieces, finish, [DONE]
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(json::parse(data[1 + i]).at("choices").at(0).at("delta").at("content"),
              json::parse(events[3 + i].data).at("delta").at("text"));
}

TEST_F(FakeAnthropicTest, ToolUse) {
  const std::string tools = R"(,"tools":[)" + std::string(kWeatherTool) +
                            R"(,{"name":"other","description":"","input_schema":{"type":"object","properties":{}}}])";
  auto plain = messages(request(tools));
  ASSERT_EQ(plain.status, 200) << plain.body;
  auto v = json::parse(plain.body).as_object();
  EXPECT_EQ(v.at("stop_reason").as_string(), "tool_use");
  auto& content = v.at("content").as_array();
  ASSERT_EQ(content.size(), 1u);
  auto& block = content[0].as_object();
  EXPECT_EQ(block.size(), 4u);
  EXPECT_EQ(block.at("type").as_string(), "tool_use");
  EXPECT_EQ(std::string(block.at("id").as_string()).rfind("toolu_fake", 0), 0u);
  EXPECT_EQ(block.at("name").as_string(), "get_weather");
  EXPECT_EQ(block.at("input"), json::parse(R"({"city":"fake","unit":"celsius","days":1})"));

  auto r = messages(request(tools + R"(,"stream":true,"fake":{"chunks":6})"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = sse_events(r.body);
  EXPECT_EQ(names(events), repeat({"message_start", "content_block_start", "ping"}, "content_block_delta", 6,
                                  {"content_block_stop", "message_delta", "message_stop"}));
  ASSERT_EQ(events.size(), 12u);
  auto start = json::parse(events[1].data);
  EXPECT_EQ(start.at("content_block").at("type").as_string(), "tool_use");
  EXPECT_EQ(start.at("content_block").at("name").as_string(), "get_weather");
  EXPECT_EQ(start.at("content_block").at("input"), json::object());
  std::string partial;
  for (int i = 3; i < 9; ++i) {
    auto d = json::parse(events[i].data);
    EXPECT_EQ(d.at("delta").at("type").as_string(), "input_json_delta");
    EXPECT_FALSE(d.at("delta").at("partial_json").as_string().empty());
    partial += d.at("delta").at("partial_json").as_string();
  }
  EXPECT_EQ(json::parse(partial), block.at("input"));
  auto delta = json::parse(events[10].data);
  EXPECT_EQ(delta.at("delta").at("stop_reason").as_string(), "tool_use");
  EXPECT_EQ(delta.at("usage").at("output_tokens"), v.at("usage").at("output_tokens"));

  // tool_choice picks the tool, or none turns it off.
  auto named = json::parse(messages(request(tools + R"(,"tool_choice":{"type":"tool","name":"other"})")).body);
  EXPECT_EQ(named.at("content").at(0).at("name").as_string(), "other");
  EXPECT_EQ(named.at("content").at(0).at("input"), json::object());
  auto none = json::parse(messages(request(tools + R"(,"tool_choice":{"type":"none"})")).body);
  EXPECT_EQ(none.at("stop_reason").as_string(), "end_turn");
  EXPECT_EQ(none.at("content").at(0).at("type").as_string(), "text");
}

TEST_F(FakeAnthropicTest, ErrorShapes) {
  expect_error(messages(request(""), {"x-fake-status: 429", "x-fake-retry-after: 7"}), 429, "rate_limit_error",
               "fake provider scripted status 429");
  auto limited = messages(request(""), {"x-fake-status: 429", "x-fake-retry-after: 7"});
  EXPECT_EQ(limited.header("retry-after"), "7");
  expect_error(messages(request(R"(,"fake":{"status":529})")), 529, "overloaded_error");
  expect_error(messages(request(R"(,"stream":true,"fake":{"status":500})")), 500, "api_error");
  for (auto [status, type] : std::vector<std::pair<long, std::string>>{{400, "invalid_request_error"},
                                                                       {401, "authentication_error"},
                                                                       {403, "permission_error"},
                                                                       {404, "not_found_error"},
                                                                       {413, "request_too_large"}})
    expect_error(messages(request(""), {"x-fake-status: " + std::to_string(status)}), status, type);

  expect_error(http_post(url("/messages"), request(""), {"Content-Type: application/json", "x-api-key: test-key"}), 400,
               "invalid_request_error", "anthropic-version: header is required");
  expect_error(messages(R"({"model":"claude-nope","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})"), 404,
               "not_found_error", "model: claude-nope");
  expect_error(messages(R"({"model":"fake-model","messages":[{"role":"user","content":"hi"}]})"), 400,
               "invalid_request_error", "max_tokens: Field required");
  expect_error(messages(R"({"model":"fake-model","max_tokens":0,"messages":[{"role":"user","content":"hi"}]})"), 400,
               "invalid_request_error");
  expect_error(messages(R"({"model":"fake-model","max_tokens":5,"messages":[]})"), 400, "invalid_request_error");
  expect_error(messages(R"({"model":"fake-model","max_tokens":5,"messages":[{"role":"system","content":"x"}]})"), 400,
               "invalid_request_error", "messages.0.role: Input should be 'user' or 'assistant'");
  expect_error(messages("{not json"), 400, "invalid_request_error");

  const std::vector<std::string> versioned = {"Content-Type: application/json", "anthropic-version: 2023-06-01"};
  expect_error(http_post(url("/messages"), request(""), versioned), 401, "authentication_error",
               "x-api-key header is required");
  auto wrong = versioned;
  wrong.push_back("x-api-key: wrong");
  expect_error(http_post(url("/messages"), request(""), wrong), 401, "authentication_error", "invalid x-api-key");
  // A bearer token is OpenAI's way; the Messages API wants x-api-key.
  auto bearer = versioned;
  bearer.push_back("Authorization: Bearer test-key");
  expect_error(http_post(url("/messages"), request(""), bearer), 401, "authentication_error");
}

// Anthropic reports a failure after the stream began as an error event, then ends the stream.
TEST_F(FakeAnthropicTest, StreamErrorEvent) {
  auto r = messages(request(R"(,"stream":true,"fake":{"chunks":3,"stream_error":true})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.error.empty()) << r.error;
  auto events = sse_events(r.body);
  EXPECT_EQ(names(events), repeat({"message_start", "content_block_start", "ping"}, "content_block_delta", 3, {"error"}));
  const std::string tail =
      "event: error\ndata: {\"type\":\"error\",\"error\":{\"details\":null,\"type\":\"overloaded_error\",\"message\":\"Overloaded\"} }\n\n";
  ASSERT_GE(r.body.size(), tail.size());
  EXPECT_EQ(r.body.substr(r.body.size() - tail.size()), tail);

  auto by_header = messages(request(R"(,"stream":true)"), {"x-fake-stream-error: true"});
  EXPECT_EQ(sse_events(by_header.body).back().name, "error");
}

TEST_F(FakeAnthropicTest, ChunkKnobsCountContentDeltas) {
  auto truncated = messages(request(R"(,"stream":true,"fake":{"chunks":5,"truncate_after_chunks":2})"));
  ASSERT_EQ(truncated.status, 200);
  EXPECT_TRUE(truncated.error.empty()) << truncated.error;
  EXPECT_EQ(names(sse_events(truncated.body)),
            repeat({"message_start", "content_block_start", "ping"}, "content_block_delta", 2, {}));

  auto reset = messages(request(R"(,"stream":true,"fake":{"chunks":5,"reset_after_chunks":1})"));
  EXPECT_FALSE(reset.error.empty()) << "the connection should have been reset";
  EXPECT_EQ(names(sse_events(reset.body)),
            repeat({"message_start", "content_block_start", "ping"}, "content_block_delta", 1, {}));

  // Paced: every delta is a write of its own, at least the interval after the one before.
  auto paced = messages(request(R"(,"stream":true,"fake":{"chunks":4,"chunk_interval_ms":40})"));
  ASSERT_EQ(paced.status, 200);
  std::vector<std::chrono::milliseconds> arrivals;
  for (const auto& [when, piece] : paced.pieces)
    if (piece.find("content_block_delta") != std::string::npos) arrivals.push_back(when);
  ASSERT_GE(arrivals.size(), 3u) << "deltas were coalesced into " << paced.pieces.size() << " pieces";
  EXPECT_GE((arrivals.back() - arrivals.front()).count(), 40);

  auto malformed = messages(request(""), {"x-fake-malformed: 1"});
  EXPECT_EQ(malformed.status, 200);
  json::error_code ec;
  json::parse(malformed.body, ec);
  EXPECT_TRUE(ec) << malformed.body;
}

TEST_F(FakeAnthropicTest, ModelsInEitherShape) {
  auto anthropic = http_get(url("/models"), {"anthropic-version: 2023-06-01", "x-api-key: test-key"});
  ASSERT_EQ(anthropic.status, 200) << anthropic.body;
  EXPECT_EQ(json::parse(anthropic.body),
            json::parse(R"({"data":[)"
                        R"({"type":"model","id":"fake-model","display_name":"Fake Model","created_at":"2025-02-19T00:00:00Z"},)"
                        R"({"type":"model","id":"fake-model-2","display_name":"Fake Model 2","created_at":"2025-02-19T00:00:00Z"},)"
                        R"({"type":"model","id":"fake-embedding","display_name":"Fake Embedding","created_at":"2025-02-19T00:00:00Z"}],)"
                        R"("has_more":false,"first_id":"fake-model","last_id":"fake-embedding"})"));
  auto one = http_get(url("/models/fake-model-2"), {"anthropic-version: 2023-06-01", "x-api-key: test-key"});
  EXPECT_EQ(json::parse(one.body).at("display_name").as_string(), "Fake Model 2");
  expect_error(http_get(url("/models/nope"), {"anthropic-version: 2023-06-01", "x-api-key: test-key"}), 404,
               "not_found_error", "model: nope");
  expect_error(http_get(url("/models"), {"anthropic-version: 2023-06-01"}), 401, "authentication_error");

  auto openai = http_get(url("/models"), {"Authorization: Bearer test-key"});
  ASSERT_EQ(openai.status, 200) << openai.body;
  auto v = json::parse(openai.body).as_object();
  EXPECT_EQ(v.at("object").as_string(), "list");
  EXPECT_EQ(v.at("data").at(0).at("object").as_string(), "model");
  EXPECT_EQ(openai.header("request-id"), "");
}

}  // namespace
}  // namespace llmux::test
