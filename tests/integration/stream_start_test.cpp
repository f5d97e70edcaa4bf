// A stream's 200 reaches the client only with the first upstream event that carries content, so
// a failure before it (an error event, a cut, a reset) is still answered as a plain error (or
// retried) instead of a stream that starts and then lies about how it ended.
#include <gtest/gtest.h>

#include <algorithm>

#include <boost/json.hpp>

#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

size_t requests_seen(const FakeProvider& fake) {
  return json::parse(http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests").body)
      .as_array()
      .size();
}

std::string stream_body(const std::string& model, const std::string& fake_knobs) {
  return R"({"model":")" + model + R"(","stream":true,"messages":[{"role":"user","content":"hi"}],"fake":)" +
         fake_knobs + "}";
}

class StreamStart : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = start_fake();
    gw_ = start_gateway("providers:\n  fake:\n    base_url: " + fake_.base_url() +
                        "\n    max_retries: 1\n    models: [fake-model]\n");
  }
  FakeProvider fake_;
  Gateway gw_;
};

TEST_F(StreamStart, AStreamCutBeforeAnyContentIsAPlainErrorAfterTheRetry) {
  auto r = http_post(gw_.url("/v1/chat/completions"), stream_body("fake-model", R"({"truncate_after_chunks":0})"));
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(json::parse(r.body).at("error").at("code").as_string(), "upstream_stream_ended");
  EXPECT_EQ(requests_seen(fake_), 2u);  // the first attempt and its retry
}

TEST_F(StreamStart, AResetBeforeAnyContentIsAPlainError) {
  auto r = http_post(gw_.url("/v1/chat/completions"), stream_body("fake-model", R"({"reset_after_chunks":0})"));
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
}

TEST_F(StreamStart, AStreamCutAfterContentEndsWithAnErrorEvent) {
  auto r = http_post(gw_.url("/v1/chat/completions"), stream_body("fake-model", R"({"chunks":6,"truncate_after_chunks":2})"));
  EXPECT_EQ(r.status, 200);
  auto events = sse_data(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.back().find("\"error\""), std::string::npos) << r.body;
  EXPECT_EQ(std::count(events.begin(), events.end(), "[DONE]"), 0) << r.body;
  EXPECT_EQ(requests_seen(fake_), 1u);  // content had reached the client: no second attempt
}

// The answer finished (its finish_reason came) and the upstream closed without [DONE]: a success,
// and the client gets the [DONE] its SDK waits for.
TEST_F(StreamStart, AFinishedStreamWithoutDoneIsCompleted) {
  auto r = http_post(gw_.url("/v1/chat/completions"), stream_body("fake-model", R"({"chunks":2,"truncate_after_chunks":3})"));
  EXPECT_EQ(r.status, 200);
  auto events = sse_data(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]") << r.body;
  EXPECT_EQ(r.body.find("\"error\""), std::string::npos) << r.body;
}

TEST_F(StreamStart, AHealthyStreamIsUnchanged) {
  auto r = http_post(gw_.url("/v1/chat/completions"), stream_body("fake-model", R"({"chunks":4})"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto events = sse_data(r.body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_NE(events.front().find("\"role\":\"assistant\""), std::string::npos);  // the held role chunk, first
}

// Anthropic's error event before any text (an overload at the start) is the attempt's error.
TEST(StreamStartAnthropic, AnErrorEventBeforeAnyTextIsAPlainErrorWithItsType) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n  claude:\n    type: anthropic\n    base_url: " + fake.base_url() +
                          "\n    api_key: k\n    max_retries: 0\n    models: [fake-model]\n"
                          "    default_params: {fake: {content: \"\", stream_error: true}}\n");
  auto r = http_post(gw.url("/v1/chat/completions"),
                     R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 529) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(json::parse(r.body).at("error").at("code").as_string(), "overloaded_error");
}

}  // namespace
}  // namespace llmux::test
