// What the gateway reads from a passed-through Responses API answer (providers/responses_support).
#include "providers/responses_support.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "providers/openai_compatible/openai_compatible.hpp"

namespace llmux::providers {
namespace {

using Role = ResponsesEventRole;

OpenAICompatibleProvider provider(std::optional<bool> responses = std::nullopt) {
  ProviderConfig c;
  c.id = "oa";
  c.base_url = "https://api.example.com/v1";
  c.api_key = Secret("sk-secret-responses-1");
  c.apis.responses = responses;
  return OpenAICompatibleProvider(c);
}

TEST(ResponsesSupport, EventsAreClassifiedByTheirNameOrTheirDatasType) {
  EXPECT_EQ(responses_event_role({"response.created", "{}"}), Role::preamble);
  EXPECT_EQ(responses_event_role({"response.in_progress", "{}"}), Role::preamble);
  EXPECT_EQ(responses_event_role({"response.output_item.added", "{}"}), Role::preamble);
  EXPECT_EQ(responses_event_role({"response.content_part.added", "{}"}), Role::preamble);
  EXPECT_EQ(responses_event_role({"response.output_text.delta", "{}"}), Role::content);
  EXPECT_EQ(responses_event_role({"response.function_call_arguments.delta", "{}"}), Role::content);
  EXPECT_EQ(responses_event_role({"response.reasoning_summary_text.delta", "{}"}), Role::content);
  EXPECT_EQ(responses_event_role({"response.completed", "{}"}), Role::completed);
  EXPECT_EQ(responses_event_role({"response.incomplete", "{}"}), Role::completed);
  EXPECT_EQ(responses_event_role({"response.failed", "{}"}), Role::failed);
  EXPECT_EQ(responses_event_role({"error", "{}"}), Role::failed);
  // Without `event:` lines the data's own type says it.
  EXPECT_EQ(responses_event_role({"", R"({"type": "response.output_text.delta","delta":"x"})"}), Role::content);
  EXPECT_EQ(responses_event_role({"", R"({"type":"error","code":"server_error"})"}), Role::failed);
  EXPECT_EQ(responses_event_role({"", R"({"sequence_number":1})"}), Role::preamble);
}

TEST(ResponsesSupport, UsageIsReadInChatTermsWithCachedAndReasoningTokens) {
  auto usage = read_responses_usage(
      R"({"object":"response","usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":12},)"
      R"("output_tokens":87,"output_tokens_details":{"reasoning_tokens":40},"total_tokens":123}})");
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->prompt_tokens, 36);
  EXPECT_EQ(usage->cached_tokens, 12);
  EXPECT_EQ(usage->completion_tokens, 87);
  EXPECT_EQ(usage->reasoning_tokens, 40);
  EXPECT_EQ(usage->total_tokens, 123);
  EXPECT_TRUE(usage->reported);
  EXPECT_FALSE(read_responses_usage(R"({"object":"response","usage":null})"));
  EXPECT_FALSE(read_responses_usage("not json"));
}

TEST(ResponsesSupport, ATerminalEventsUsageAndAFailuresCodeAreRead) {
  simdjson::dom::parser parser;
  std::string completed =
      R"({"type":"response.completed","response":{"status":"completed","usage":{"input_tokens":5,"output_tokens":7}}})";
  auto facts = responses_event_facts({"response.completed", completed}, parser.parse(completed).value());
  EXPECT_EQ(facts.role, Role::completed);
  ASSERT_TRUE(facts.usage);
  EXPECT_EQ(facts.usage->total_tokens, 12);

  std::string failed = R"({"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"m"}}})";
  facts = responses_event_facts({"response.failed", failed}, parser.parse(failed).value());
  EXPECT_EQ(facts.role, Role::failed);
  EXPECT_EQ(facts.error_code, "server_error");

  std::string error = R"({"type":"error","code":"rate_limit_exceeded","message":"slow down","param":null})";
  facts = responses_event_facts({"error", error}, parser.parse(error).value());
  EXPECT_EQ(facts.error_code, "rate_limit_exceeded");
}

TEST(ResponsesSupport, AnEarlyFailureIsARetryableErrorNamingTheProviderWithoutItsSecrets) {
  auto p = provider();
  Error e = responses_event_error(
      p, R"({"type":"response.failed","response":{"error":{"code":"server_error","message":"bad key sk-secret-responses-1"}}})");
  EXPECT_EQ(e.http_status, 502);
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(e.code, "server_error");
  EXPECT_EQ(e.provider, "oa");
  EXPECT_NE(e.message.find("provider 'oa' failed before answering"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("sk-secret-responses-1"), std::string::npos) << e.message;
  Error limited = responses_event_error(p, R"({"type":"error","code":"rate_limit_exceeded","message":"slow down"})");
  EXPECT_EQ(limited.http_status, 429);
  EXPECT_EQ(limited.type, "rate_limit_error");
}

TEST(ResponsesSupport, ABrokenStreamEndsWithTheEventOfItsOwnApi) {
  Error e = Error::make(ErrorKind::upstream_error, "stream \"x\" broke", {}, "upstream_error");
  std::string responses = stream_error_event(Endpoint::responses, e);
  ASSERT_TRUE(responses.starts_with("event: error\ndata: ")) << responses;
  ASSERT_TRUE(responses.ends_with("\n\n"));
  auto data = boost::json::parse(responses.substr(19, responses.size() - 21)).as_object();
  EXPECT_EQ(data.at("type").as_string(), "error");
  EXPECT_EQ(data.at("code").as_string(), "upstream_error");
  EXPECT_EQ(data.at("message").as_string(), "stream \"x\" broke");
  EXPECT_TRUE(data.at("param").is_null());
  EXPECT_EQ(stream_error_event(Endpoint::chat_completions, e), "data: " + to_openai_json(e) + "\n\n");
}

TEST(ResponsesSupport, OnlyAMarkedOpenAICompatibleProviderIsSentResponsesBodies) {
  json::RequestFields fields;
  std::string body = R"({"model":"m","input":"hi"})";
  ASSERT_TRUE(json::read_request(body, fields));
  EncodeInput in{Endpoint::responses, body, &fields, "upstream-m", "req-1", false};
  auto refused = provider().encode(in);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().http_status, 501);
  EXPECT_NE(refused.error().message.find("responses: true"), std::string::npos) << refused.error().message;
  auto sent = provider(true).encode(in);
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_EQ(sent->url, "https://api.example.com/v1/responses");
  EXPECT_EQ(boost::json::parse(sent->body).at("model").as_string(), "upstream-m");
}

}  // namespace
}  // namespace llmux::providers
