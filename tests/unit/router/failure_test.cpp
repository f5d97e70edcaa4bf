#include "router/failure.hpp"

#include <gtest/gtest.h>

#include "router/timeouts.hpp"
#include "router_test_util.hpp"

namespace llmux::router {
namespace {

using namespace std::chrono_literals;

TEST(Classify, EachFailureKind) {
  struct Case {
    AttemptOutcome outcome;
    Treatment expected;
  };
  const Case cases[] = {
      {AttemptOutcome::success(), Treatment::success},
      {AttemptOutcome::failure(FailureKind::connect), Treatment::transient},
      {AttemptOutcome::failure(FailureKind::reset_before_headers), Treatment::transient},
      {AttemptOutcome::failure(FailureKind::malformed), Treatment::transient},
      {AttemptOutcome::failure(FailureKind::headers_timeout), Treatment::unavailable},
      {AttemptOutcome::failure(FailureKind::first_token_timeout), Treatment::unavailable},
      {AttemptOutcome::failure(FailureKind::cancelled), Treatment::cancelled},
      {AttemptOutcome::http_error(408), Treatment::transient},
      {AttemptOutcome::http_error(429), Treatment::transient},
      {AttemptOutcome::http_error(500), Treatment::transient},
      {AttemptOutcome::http_error(502), Treatment::transient},
      {AttemptOutcome::http_error(503), Treatment::transient},
      {AttemptOutcome::http_error(504), Treatment::transient},
      {AttemptOutcome::http_error(529), Treatment::transient},
      {AttemptOutcome::http_error(520), Treatment::unavailable},
      {AttemptOutcome::http_error(501), Treatment::deployment_rejected},
      {AttemptOutcome::http_error(400), Treatment::request_rejected},
      {AttemptOutcome::http_error(413), Treatment::request_rejected},
      {AttemptOutcome::http_error(422), Treatment::request_rejected},
      {AttemptOutcome::http_error(401), Treatment::deployment_rejected},
      {AttemptOutcome::http_error(403), Treatment::deployment_rejected},
      {AttemptOutcome::http_error(404), Treatment::deployment_rejected},
      {AttemptOutcome::http_error(400, "context_length_exceeded"), Treatment::context_exceeded},
      {AttemptOutcome::http_error(400, "invalid_request_error", "This model's maximum context length is 8192 tokens"),
       Treatment::context_exceeded},
      {AttemptOutcome::http_error(400, "content_policy_violation"), Treatment::content_policy},
      {AttemptOutcome::http_error(400, "content_filter"), Treatment::content_policy},
      {{FailureKind::error_event, 0, "overloaded_error"}, Treatment::transient},
      {{FailureKind::error_event, 529, "overloaded_error"}, Treatment::transient},
      {{FailureKind::error_event, 400, "invalid_request_error"}, Treatment::request_rejected},
  };
  for (const auto& c : cases)
    EXPECT_EQ(treatment_name(classify(c.outcome)), std::string(treatment_name(c.expected)))
        << "kind " << static_cast<int>(c.outcome.kind) << " status " << c.outcome.status << " code "
        << c.outcome.error_code;
}

TEST(Classify, BreakerCountsOutagesAndBadCredentialsOnly) {
  auto counts = [](AttemptOutcome o) { return is_breaker_failure(o, classify(o)); };
  EXPECT_TRUE(counts(AttemptOutcome::http_error(503)));
  EXPECT_TRUE(counts(AttemptOutcome::failure(FailureKind::headers_timeout)));
  EXPECT_TRUE(counts(AttemptOutcome::http_error(401)));
  EXPECT_FALSE(counts(AttemptOutcome::http_error(400)));
  EXPECT_FALSE(counts(AttemptOutcome::http_error(404)));
  EXPECT_FALSE(counts(AttemptOutcome::http_error(400, "content_filter")));
}

TEST(Classify, ErrorPrecedence) {
  EXPECT_GT(error_rank(Treatment::transient, false), error_rank(Treatment::request_rejected, false));
  EXPECT_GT(error_rank(Treatment::request_rejected, true), error_rank(Treatment::transient, false));
  EXPECT_GT(error_rank(Treatment::transient, false), error_rank(Treatment::deployment_rejected, true));
  EXPECT_GT(error_rank(Treatment::content_policy, false), error_rank(Treatment::request_rejected, true));
}

TEST(OutcomeCode, CompactNames) {
  char buffer[8];
  EXPECT_EQ(outcome_code(AttemptOutcome::success(), buffer), "200");
  EXPECT_EQ(outcome_code(AttemptOutcome::http_error(529), buffer), "529");
  EXPECT_EQ(outcome_code(AttemptOutcome::failure(FailureKind::connect), buffer), "connect");
  EXPECT_EQ(outcome_code(AttemptOutcome::failure(FailureKind::first_token_timeout), buffer), "ttft");
  EXPECT_EQ(outcome_code({FailureKind::error_event}, buffer), "error");
}

TEST(RetryAfter, SecondsAndHttpDates) {
  WallTime now = test::epoch().wall;  // Tue, 14 Nov 2023 22:13:20 GMT
  EXPECT_EQ(parse_retry_after("7", now), 7s);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0s);
  EXPECT_EQ(parse_retry_after("1.5", now), 2s);
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", now), 10s);
  EXPECT_EQ(parse_retry_after("Tuesday, 14-Nov-23 22:14:20 GMT", now), 60s);
  EXPECT_EQ(parse_retry_after("Tue Nov 14 22:13:25 2023", now), 5s);
  EXPECT_EQ(parse_retry_after("Mon, 13 Nov 2023 22:13:30 GMT", now), 0s);  // in the past
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-3", now), std::nullopt);
}

TEST(Timeouts, ProviderLimitsFallBackToTimeoutAndAreCutToTheDeadline) {
  ProviderConfig p;
  p.timeout = 30s;
  AttemptTimeouts t = attempt_timeouts(p);
  EXPECT_EQ(t.connect, 10s);
  EXPECT_EQ(t.headers, 30s);
  EXPECT_EQ(t.first_token, 30s);
  EXPECT_EQ(t.idle, 30s);
  EXPECT_FALSE(t.total);
  p.timeouts = {.connect = 2s, .headers = 5s, .first_token = 8s, .idle = 3s, .total = 120s};
  t = attempt_timeouts(p, 6s);
  EXPECT_EQ(t.connect, 2s);
  EXPECT_EQ(t.headers, 5s);
  EXPECT_EQ(t.first_token, 6s);
  EXPECT_EQ(t.idle, 3s);
  EXPECT_EQ(t.total, 6s);
}

TEST(Timeouts, RequestHeaderIsBoundedByConfig) {
  RouterConfig config;
  config.max_request_timeout = 60s;
  EXPECT_EQ(parse_timeout_header("30", config).value(), 30s);
  EXPECT_EQ(parse_timeout_header("1500ms", config).value(), 1500ms);
  EXPECT_EQ(parse_timeout_header("5m", config).value(), 60s);
  auto bad = parse_timeout_header("fast", config);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().http_status, 400);
  EXPECT_NE(bad.error().message.find("x-llmux-timeout"), std::string::npos);
  EXPECT_FALSE(parse_timeout_header("0", config));
  config.total_timeout = 20s;
  EXPECT_EQ(request_budget(config, std::nullopt), 20s);
  EXPECT_EQ(request_budget(config, 5s), 5s);
  config.total_timeout = 0s;
  EXPECT_EQ(request_budget(config, std::nullopt), std::nullopt);
}

}  // namespace
}  // namespace llmux::router
