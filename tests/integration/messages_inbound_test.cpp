// End-to-end: Anthropic Messages clients through the real llmux (POST /v1/messages) to the real
// fake provider, served by an OpenAI-compatible provider (answers translated from OpenAI chunks),
// by a translated adapter (Gemini) and by an Anthropic provider (bytes passed through).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>

#include "anthropic_events.hpp"
#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

constexpr const char* kUpstreamKey = "sk-upstream-secret-9876";
constexpr const char* kGatewayKey = "gw-master-key-123";

const char* kTools = R"("tools":[{"name":"get_weather","description":"Weather now",
  "input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}])";

std::string body_for(const std::string& model, bool stream, const std::string& extra = {}) {
  return R"({"model":")" + model + R"(","max_tokens":200,"system":"Be brief.","messages":[{"role":"user","content":"hello gateway"}])" +
         (stream ? ",\"stream\":true" : "") + extra + "}";
}

std::vector<std::string> anthropic_headers(const char* version = "2023-06-01", const char* key = kGatewayKey) {
  std::vector<std::string> h{"Content-Type: application/json"};
  if (key) h.push_back(std::string("x-api-key: ") + key);
  if (version) h.push_back(std::string("anthropic-version: ") + version);
  return h;
}

using Event = AnthropicEvent;
constexpr auto events_of = anthropic_events_of;

std::vector<std::string> names_of(const std::vector<Event>& events) {
  std::vector<std::string> names;
  for (auto& e : events) names.push_back(e.name);
  return names;
}

std::string text_of(const std::vector<Event>& events) {
  std::string text;
  for (auto& e : events)
    if (e.name == "content_block_delta" && e.data.at("delta").at("type") == "text_delta")
      text += e.data.at("delta").at("text").as_string();
  return text;
}

class MessagesInboundTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(start_fake({"--require-key", kUpstreamKey}));
    std::string root = "http://127.0.0.1:" + std::to_string(fake_->port);
    gateway_ = new Gateway(start_gateway(std::string("master_key: ") + kGatewayKey + R"(
providers:
  oa:
    type: openai-compatible
    base_url: )" + fake_->base_url() + R"(
    api_key: )" + kUpstreamKey + R"(
    max_retries: 0
    models: [fake-model]
  oa-broken:
    type: openai-compatible
    base_url: )" + fake_->base_url() + R"(
    api_key: )" + kUpstreamKey + R"(
    max_retries: 0
    default_params: {fake: {status: 429, retry_after: "7"}}
    models: [fake-model]
  oa-truncated:
    type: openai-compatible
    base_url: )" + fake_->base_url() + R"(
    api_key: )" + kUpstreamKey + R"(
    max_retries: 0
    default_params: {fake: {chunks: 5, truncate_after_chunks: 2}}
    models: [fake-model]
  gem-stream-error:
    type: gemini
    base_url: )" + root + R"(/v1beta
    api_key: )" + kUpstreamKey + R"(
    max_retries: 0
    default_params: {fake: {chunks: 3, stream_error: true}}
    models: [fake-model]
  gem:
    type: gemini
    base_url: )" + root + R"(/v1beta
    api_key: )" + kUpstreamKey + R"(
    max_retries: 0
    models: [fake-model]
  claude:
    type: anthropic
    base_url: )" + fake_->base_url() + R"(
    api_key: )" + kUpstreamKey + R"(
    max_retries: 0
    models:
      - id: sonnet
        upstream_id: fake-model
)"));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }

  static HttpResponse messages(const std::string& body, const std::vector<std::string>& headers = anthropic_headers()) {
    return http_post(gateway_->url("/v1/messages"), body, headers);
  }
  static HttpResponse direct(const std::string& path, const std::string& body) {
    return http_post(fake_->base_url() + path, body,
                     {"Content-Type: application/json", std::string("x-api-key: ") + kUpstreamKey,
                      "anthropic-version: 2023-06-01"});
  }
  static json::object last_upstream_request(const std::string& target) {
    auto log = json::parse(http_get("http://127.0.0.1:" + std::to_string(fake_->port) + "/_fake/requests").body).as_array();
    for (auto it = log.rbegin(); it != log.rend(); ++it)
      if (it->at("target").as_string().starts_with(target)) return it->as_object();
    ADD_FAILURE() << "no request reached " << target;
    return {};
  }

  static void expect_plain_message(const std::string& model) {
    auto r = messages(body_for(model, false));
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = json::parse(r.body).as_object();
    EXPECT_EQ(v["type"], "message");
    EXPECT_EQ(v["role"], "assistant");
    ASSERT_FALSE(v["content"].as_array().empty()) << r.body;
    EXPECT_EQ(v["content"].as_array()[0].at("type"), "text");
    EXPECT_FALSE(v["content"].as_array()[0].at("text").as_string().empty());
    EXPECT_EQ(v["stop_reason"], "end_turn");
    EXPECT_GT(v["usage"].at("input_tokens").as_int64(), 0);
    EXPECT_GT(v["usage"].at("output_tokens").as_int64(), 0);
  }

  static void expect_text_stream(const std::string& model) {
    auto r = messages(body_for(model, true));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.header("content-type").starts_with("text/event-stream"));
    auto events = events_of(r.body);
    auto names = names_of(events);
    ASSERT_GE(names.size(), 7u) << r.body;
    EXPECT_EQ(names[0], "message_start");
    EXPECT_EQ(names[1], "ping");
    EXPECT_EQ(names[2], "content_block_start");
    EXPECT_EQ(names[names.size() - 3], "content_block_stop");
    EXPECT_EQ(names[names.size() - 2], "message_delta");
    EXPECT_EQ(names.back(), "message_stop");
    EXPECT_FALSE(text_of(events).empty());
    auto& delta = events[events.size() - 2].data;
    EXPECT_EQ(delta.at("delta").at("stop_reason"), "end_turn");
    EXPECT_GT(delta.at("usage").at("output_tokens").as_int64(), 0);
  }

  static void expect_tool_use(const std::string& model) {
    auto r = messages(body_for(model, true, std::string(",") + kTools));
    ASSERT_EQ(r.status, 200) << r.body;
    auto events = events_of(r.body);
    std::string input, name;
    for (auto& e : events) {
      if (e.name == "content_block_start" && e.data.at("content_block").at("type") == "tool_use")
        name = e.data.at("content_block").at("name").as_string();
      if (e.name == "content_block_delta" && e.data.at("delta").at("type") == "input_json_delta")
        input += e.data.at("delta").at("partial_json").as_string();
    }
    EXPECT_EQ(name, "get_weather") << r.body;
    EXPECT_TRUE(json::parse(input).as_object().contains("city")) << input;
    EXPECT_EQ(events[events.size() - 2].data.at("delta").at("stop_reason"), "tool_use");

    auto plain = messages(body_for(model, false, std::string(",") + kTools));
    ASSERT_EQ(plain.status, 200) << plain.body;
    auto v = json::parse(plain.body).as_object();
    EXPECT_EQ(v["stop_reason"], "tool_use");
    bool found = false;
    for (auto& block : v["content"].as_array())
      if (block.at("type") == "tool_use") {
        found = true;
        EXPECT_TRUE(block.at("input").as_object().contains("city"));
      }
    EXPECT_TRUE(found) << plain.body;
  }

  static inline FakeProvider* fake_ = nullptr;
  static inline Gateway* gateway_ = nullptr;
};

// The fake's OpenAI endpoint answers tools in text (it has no tool calls); OpenAI's tool-call
// streams are decoded from the recorded fixtures in the unit tests (OpenAIShapedFixture).
TEST_F(MessagesInboundTest, OpenAICompatibleProviderPlainAndStream) {
  expect_plain_message("oa/fake-model");
  expect_text_stream("oa/fake-model");
  ASSERT_EQ(messages(body_for("oa/fake-model", true, std::string(",") + kTools)).status, 200);
  // What the OpenAI-shaped upstream got: the converted chat request.
  auto sent = json::parse(last_upstream_request("/v1/chat/completions").at("body").as_string()).as_object();
  EXPECT_EQ(sent["messages"].as_array()[0].at("role"), "system");
  EXPECT_EQ(sent["messages"].as_array()[0].at("content"), "Be brief.");
  EXPECT_EQ(sent["tools"].as_array()[0].at("function").at("name"), "get_weather");
  EXPECT_EQ(sent["stream_options"].at("include_usage"), true);
}

TEST_F(MessagesInboundTest, TranslatedProviderPlainStreamAndTools) {
  expect_plain_message("gem/fake-model");
  expect_text_stream("gem/fake-model");
  expect_tool_use("gem/fake-model");
}

TEST_F(MessagesInboundTest, AnthropicProviderPassesBytesThrough) {
  std::string body = body_for("claude/sonnet", true, std::string(",") + kTools);
  auto r = messages(body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto sent = last_upstream_request("/v1/messages");
  // The client's body, with only the model rewritten to the upstream id.
  std::string expected = body;
  expected.replace(expected.find("claude/sonnet"), std::string("claude/sonnet").size(), "fake-model");
  EXPECT_EQ(sent["body"].as_string(), expected);
  // The fake's own stream for the same request, byte for byte (its ids count up per request).
  auto same = direct("/messages", expected);
  ASSERT_EQ(same.status, 200);
  std::regex ids("(msg|toolu|req)_[A-Za-z0-9]+");
  EXPECT_EQ(std::regex_replace(r.body, ids, "$1_X"), std::regex_replace(same.body, ids, "$1_X"));
  auto plain = messages(body_for("claude/sonnet", false));
  ASSERT_EQ(plain.status, 200) << plain.body;
  auto again = direct("/messages", body_for("fake-model", false));
  EXPECT_EQ(std::regex_replace(plain.body, ids, "$1_X"), std::regex_replace(again.body, ids, "$1_X"));
}

TEST_F(MessagesInboundTest, UsageIsAccountedForEveryProvider) {
  auto before = json::parse(http_get(gateway_->url("/api/usage"), {std::string("Authorization: Bearer ") + kGatewayKey}).body);
  ASSERT_EQ(messages(body_for("claude/sonnet", true)).status, 200);
  ASSERT_EQ(messages(body_for("claude/sonnet", false)).status, 200);
  auto after = json::parse(http_get(gateway_->url("/api/usage"), {std::string("Authorization: Bearer ") + kGatewayKey}).body);
  auto tokens = [](const json::value& usage, const char* field) -> int64_t {
    auto* providers = usage.as_object().if_contains("providers");
    if (!providers || !providers->is_object() || !providers->as_object().contains("claude")) return 0;
    auto& p = providers->as_object().at("claude").as_object();
    return p.contains(field) ? p.at(field).to_number<int64_t>() : 0;
  };
  EXPECT_GT(tokens(after, "prompt_tokens"), tokens(before, "prompt_tokens")) << json::serialize(after);
  EXPECT_GT(tokens(after, "completion_tokens"), tokens(before, "completion_tokens")) << json::serialize(after);
}

TEST_F(MessagesInboundTest, ErrorsTakeAnthropicsShape) {
  auto expect_error = [](const HttpResponse& r, long status, const char* type) {
    EXPECT_EQ(r.status, status) << r.body;
    auto v = json::parse(r.body).as_object();
    EXPECT_EQ(v["type"], "error") << r.body;
    EXPECT_EQ(v["error"].at("type"), type) << r.body;
    EXPECT_FALSE(v["error"].at("message").as_string().empty());
  };
  expect_error(messages(body_for("oa/fake-model", false), anthropic_headers("2023-06-01", nullptr)), 401,
               "authentication_error");
  expect_error(messages(body_for("oa/fake-model", false), anthropic_headers("2023-06-01", "wrong-key")), 401,
               "authentication_error");
  expect_error(messages(body_for("oa/fake-model", false), anthropic_headers(nullptr)), 400, "invalid_request_error");
  expect_error(messages(body_for("oa/fake-model", false), anthropic_headers("2022-12-01")), 400, "invalid_request_error");
  expect_error(messages(R"({"model":"oa/fake-model","messages":[{"role":"user","content":"x"}]})"), 400,
               "invalid_request_error");  // no max_tokens
  expect_error(messages(body_for("nobody/nothing", false)), 404, "not_found_error");
  auto limited = messages(body_for("oa-broken/fake-model", false));
  expect_error(limited, 429, "rate_limit_error");
  EXPECT_EQ(limited.header("retry-after"), "7");
  // A server tool has no OpenAI form: 400 naming the field, before anything goes upstream.
  auto server_tool = messages(body_for("oa/fake-model", false, R"(,"tools":[{"type":"web_search_20250305","name":"web_search"}])"));
  expect_error(server_tool, 400, "invalid_request_error");
  EXPECT_NE(server_tool.body.find("tools[0].type"), std::string::npos);
  // Bearer works as well as x-api-key.
  auto bearer = messages(body_for("oa/fake-model", false),
                         {"Content-Type: application/json", std::string("Authorization: Bearer ") + kGatewayKey,
                          "anthropic-version: 2023-01-01"});
  EXPECT_EQ(bearer.status, 200) << bearer.body;
}

TEST_F(MessagesInboundTest, AFailureAfterTheFirstByteIsAnErrorEvent) {
  for (const char* model : {"gem-stream-error/fake-model", "oa-truncated/fake-model"}) {
    auto r = messages(body_for(model, true));
    ASSERT_EQ(r.status, 200) << r.body;
    auto events = events_of(r.body);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().name, "error") << r.body;
    EXPECT_EQ(events.back().data.at("type"), "error");
    EXPECT_EQ(names_of(events)[0], "message_start");
    for (auto& e : events) EXPECT_NE(e.name, "message_stop");
  }
}

TEST_F(MessagesInboundTest, CountTokensPassesThroughOrIsEstimated) {
  const std::string body = R"({"model":"MODEL","system":"abcd","messages":[{"role":"user","content":"efghijkl"}]})";
  auto with = [&](const std::string& model) {
    std::string b = body;
    b.replace(b.find("MODEL"), 5, model);
    return http_post(gateway_->url("/v1/messages/count_tokens"), b, anthropic_headers());
  };
  auto passed = with("claude/sonnet");
  ASSERT_EQ(passed.status, 200) << passed.body;
  EXPECT_EQ(passed.header("x-llmux-estimated"), "");
  std::string upstream_body = body;
  upstream_body.replace(upstream_body.find("MODEL"), 5, "fake-model");
  EXPECT_EQ(last_upstream_request("/v1/messages/count_tokens").at("body").as_string(), upstream_body);
  EXPECT_EQ(json::parse(passed.body), json::parse(direct("/messages/count_tokens", upstream_body).body));
  auto estimated = with("oa/fake-model");
  ASSERT_EQ(estimated.status, 200) << estimated.body;
  EXPECT_EQ(estimated.header("x-llmux-estimated"), "true");
  EXPECT_EQ(json::parse(estimated.body).at("input_tokens"), 3);  // 12 bytes of text / 4
}

}  // namespace
}  // namespace llmux::test
