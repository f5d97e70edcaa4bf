// Every retry/fallback rule of the attempt loop, driven with an injected clock and random source.
#include "router/attempt_planner.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "router_test_util.hpp"

namespace llmux::router {
namespace {

using namespace std::chrono_literals;
using test::make;
using test::provider;
using Action = Decision::Action;

class PlannerTest : public ::testing::Test {
 protected:
  void SetUp() override { build({provider("a", {"m", "big"}), provider("b", {"m"}), provider("c", {"m"})}); }

  void build(std::vector<ProviderConfig> configs, std::vector<ModelRouteConfig> routes = {}) {
    planner_.reset();
    providers_ = make(std::move(configs));
    catalog_ = std::make_unique<ModelCatalog>(providers_);
    table_ = std::make_unique<RouteTable>(providers_, routes, BalanceStrategy::priority, *catalog_);
    stats_ = std::make_unique<DeploymentStats>(table_->slot_count());
    breakers_ = std::make_unique<LocalBreakerStore>(table_->slot_count(), config_.breaker);
  }

  Decision start(std::string_view model, std::optional<Millis> budget = std::nullopt) {
    planner_.reset();
    auto routed = table_->route({.model = model}, *stats_, random_, route_);
    EXPECT_TRUE(routed) << (routed ? "" : routed.error().message);
    planner_ = std::make_unique<AttemptPlanner>(config_, route_, *breakers_, *stats_, random_, now_, budget);
    return planner_->first(now_);
  }

  static Error error(int status, std::string message = "upstream said no") {
    Error e = Error::make(ErrorKind::upstream_error, std::move(message));
    e.http_status = e.upstream_status = status;
    return e;
  }

  Decision fail_status(int status, std::string_view retry_after = {}, std::string_view code = {}) {
    return planner_->after(AttemptOutcome::http_error(status, code, {}, retry_after), now_, error(status));
  }

  std::string header() const {
    std::string out;
    planner_->append_attempts_header(out);
    return out;
  }

  RouterConfig config_;
  std::vector<std::unique_ptr<providers::Provider>> providers_;
  std::unique_ptr<ModelCatalog> catalog_;
  std::unique_ptr<RouteTable> table_;
  std::unique_ptr<DeploymentStats> stats_;
  std::unique_ptr<LocalBreakerStore> breakers_;
  test::ScriptedRandom random_;
  Route route_;
  Instant now_ = test::epoch();
  std::unique_ptr<AttemptPlanner> planner_;
};

TEST_F(PlannerTest, SuccessAtOnceAnswersAndSaysSo) {
  Decision d = start("m");
  ASSERT_EQ(d.action, Action::attempt);
  EXPECT_EQ(d.deployment->label, "a/m");
  EXPECT_EQ(d.start_at, now_.steady);
  d = planner_->after(AttemptOutcome::success(120ms), now_);
  EXPECT_EQ(d.action, Action::answer);
  EXPECT_EQ(header(), "1; a/m=200");
  EXPECT_EQ(stats_->ttft_ewma(route_[0].slot), 120ms);
  EXPECT_EQ(stats_->inflight(route_[0].slot), 1);  // the answer is still streaming
  planner_.reset();
  EXPECT_EQ(stats_->inflight(route_[0].slot), 0);
}

TEST_F(PlannerTest, TransientFailuresRetryHereWithJitterThenMoveDown) {
  random_ = test::ScriptedRandom({0.5, 0.25});
  start("m");
  Decision d = fail_status(503);
  ASSERT_EQ(d.action, Action::attempt);
  EXPECT_EQ(d.deployment->label, "a/m");
  EXPECT_EQ(d.start_at - now_.steady, 50ms);  // full jitter: 0.5 * base 100ms
  now_ = now_ + 50ms;
  d = fail_status(503);
  // The third attempt on a would have to wait for the 1.5 s window; b is available, so b now.
  ASSERT_EQ(d.action, Action::attempt);
  EXPECT_EQ(d.deployment->label, "b/m");
  EXPECT_EQ(d.start_at, now_.steady);
  d = planner_->after(AttemptOutcome::success(), now_);
  EXPECT_EQ(d.action, Action::answer);
  EXPECT_EQ(header(), "3; a/m=503,a/m=503,b/m=200");
}

TEST_F(PlannerTest, SecondRetryBackoffDoublesAndSingleDeploymentWaitsForTheWindow) {
  build({provider("a", {"m"})});
  random_ = test::ScriptedRandom({0.5, 0.5});
  start("m");
  Decision d = fail_status(500);
  EXPECT_EQ(d.start_at - now_.steady, 50ms);
  now_ = now_ + 50ms;
  d = fail_status(500);
  ASSERT_EQ(d.action, Action::attempt);
  // Backoff would be 0.5 * 200ms, but two attempts already started within 1.5 s: wait for the window.
  EXPECT_EQ(d.start_at - (now_.steady - 50ms), kRetryWindow);
  now_ = Instant{d.start_at, now_.wall};
  d = fail_status(500);
  EXPECT_EQ(d.action, Action::fail);  // max_retries 2: three attempts on the only deployment
  EXPECT_EQ(planner_->final_error().http_status, 500);
  EXPECT_EQ(header(), "3; a/m=500,a/m=500,a/m=500");
}

TEST_F(PlannerTest, EveryTransientKindIsRetriedHere) {
  for (auto outcome : {AttemptOutcome::failure(FailureKind::connect),
                       AttemptOutcome::failure(FailureKind::reset_before_headers), AttemptOutcome::http_error(408),
                       AttemptOutcome::http_error(429), AttemptOutcome::http_error(502),
                       AttemptOutcome::http_error(504), AttemptOutcome::http_error(529)}) {
    planner_.reset();  // it reports to the breakers replaced below
    breakers_ = std::make_unique<LocalBreakerStore>(table_->slot_count(), config_.breaker);
    start("m");
    Decision d = planner_->after(outcome, now_, error(502));
    ASSERT_EQ(d.action, Action::attempt);
    EXPECT_EQ(d.deployment->label, "a/m") << static_cast<int>(outcome.kind) << " " << outcome.status;
  }
}

TEST_F(PlannerTest, RetryAfterIsHonouredInSecondsAndAsADate) {
  start("m");
  Decision d = fail_status(429, "3");
  ASSERT_EQ(d.action, Action::attempt);
  EXPECT_EQ(d.deployment->label, "a/m");
  EXPECT_EQ(d.start_at - now_.steady, 3s);
  start("m");
  // epoch() is 2023-11-14T22:13:20Z; the date asks for 7 seconds.
  d = fail_status(503, "Tue, 14 Nov 2023 22:13:27 GMT");
  EXPECT_EQ(d.start_at - now_.steady, 7s);
}

TEST_F(PlannerTest, RetryAfterAboveTheCapFallsBackAtOnce) {
  start("m");
  Decision d = fail_status(429, "60");
  ASSERT_EQ(d.action, Action::attempt);
  EXPECT_EQ(d.deployment->label, "b/m");
  EXPECT_EQ(d.start_at, now_.steady);
}

TEST_F(PlannerTest, TimeoutsWaitingForAnAnswerFallBackAtOnce) {
  for (auto kind : {FailureKind::headers_timeout, FailureKind::first_token_timeout}) {
    start("m");
    Decision d = planner_->after(AttemptOutcome::failure(kind), now_, error(504));
    ASSERT_EQ(d.action, Action::attempt);
    EXPECT_EQ(d.deployment->label, "b/m");
    EXPECT_EQ(d.start_at, now_.steady);
  }
  EXPECT_EQ(header(), "1; a/m=ttft");
}

TEST_F(PlannerTest, RequestAndDeploymentRejectionsAreNotRepeated) {
  for (int status : {400, 401, 403, 404, 413, 422}) {
    start("m");
    Decision d = fail_status(status);
    ASSERT_EQ(d.action, Action::attempt) << status;
    EXPECT_EQ(d.deployment->label, "b/m") << status;
  }
}

TEST_F(PlannerTest, AFallbacksRequestShapeErrorDoesNotMaskThePrimarys503) {
  build({provider("a", {"m"}), provider("b", {"m"})});
  config_.max_attempts = 4;
  start("m");
  fail_status(503);
  Decision d = fail_status(503);
  ASSERT_EQ(d.deployment->label, "b/m");
  d = planner_->after(AttemptOutcome::http_error(400), now_, error(400, "b: unknown field"));
  ASSERT_EQ(d.action, Action::fail);
  EXPECT_EQ(planner_->final_error().http_status, 503);
  EXPECT_EQ(header(), "3; a/m=503,a/m=503,b/m=400");
}

TEST_F(PlannerTest, ThePrimarysRejectionOfTheRequestBeatsAFallbacksOutage) {
  build({provider("a", {"m"}), provider("b", {"m"})});
  config_.max_attempts = 2;
  start("m");
  fail_status(400);
  Decision d = fail_status(503);
  ASSERT_EQ(d.action, Action::fail);
  EXPECT_EQ(planner_->final_error().http_status, 400);
}

TEST_F(PlannerTest, ContentPolicyIsTheAnswerUnlessConfigured) {
  start("m");
  Decision d = fail_status(400, {}, "content_policy_violation");
  ASSERT_EQ(d.action, Action::fail);
  EXPECT_EQ(planner_->final_error().http_status, 400);
  EXPECT_EQ(planner_->attempts(), 1);

  ModelRouteConfig r{.name = "guarded", .deployments = {{"a", "m", 1, 1}, {"b", "m", 2, 1}}};
  r.content_policy_fallback = true;
  build({provider("a", {"m"}), provider("b", {"m"})}, {r});
  start("guarded");
  d = fail_status(400, {}, "content_filter");
  ASSERT_EQ(d.action, Action::attempt);
  EXPECT_EQ(d.deployment->label, "b/m");
  d = fail_status(503);
  d = fail_status(503);
  d = fail_status(503);
  ASSERT_EQ(d.action, Action::fail);
  EXPECT_EQ(planner_->final_error().http_status, 400);  // the rejection outranks the outage
}

TEST_F(PlannerTest, ContextLengthGoesToLargerWindowsAndContextFallbacksFirst) {
  auto a = provider("a", {"small", "tiny"});
  a.models[0].context_window = 8000;
  a.models[1].context_window = 4000;
  auto b = provider("b", {"large"});
  b.models[0].context_window = 200000;
  auto c = provider("c", {"unknown"});
  ModelRouteConfig r{.name = "chat",
                     .deployments = {{"a", "small", 1, 1}, {"a", "tiny", 2, 1}, {"c", "unknown", 3, 1}},
                     .context_fallbacks = {"b/large"}};
  build({a, b, c}, {r});
  start("chat");
  Decision d = planner_->after(AttemptOutcome::http_error(400, "context_length_exceeded"), now_, error(400));
  ASSERT_EQ(d.action, Action::attempt);
  EXPECT_EQ(d.deployment->label, "b/large");  // configured larger model first
  d = fail_status(503, "60");                 // too long a wait: move on
  ASSERT_EQ(d.action, Action::attempt);
  EXPECT_EQ(d.deployment->label, "c/unknown");  // a/tiny (4000 <= 8000) is skipped; unknown window is tried
  // Anthropic says it in words only.
  start("chat");
  d = planner_->after(AttemptOutcome::http_error(400, "invalid_request_error", "prompt is too long: 9000 tokens > 8000"),
                      now_, error(400));
  EXPECT_EQ(d.deployment->label, "b/large");
}

// Routes and logs longer than the planner keeps inline (kInlineDeployments, kInlineLog) behave as
// short ones: every deployment is tried in order, every attempt reported, the log capped at kMaxLog.
TEST_F(PlannerTest, ARouteLongerThanTheInlineRoomIsTriedToItsEndAndLoggedToTheCap) {
  std::vector<ProviderConfig> configs;
  for (size_t i = 0; i < kMaxRouteLength; ++i) configs.push_back(provider("p" + std::to_string(i), {"m"}));
  build(configs);
  config_.max_attempts = 100;
  Decision d = start("m");
  std::vector<std::string> tried;
  while (d.action == Action::attempt) {
    tried.push_back(d.deployment->label);
    now_ = now_ + (d.start_at - now_.steady);
    d = fail_status(503);
  }
  ASSERT_EQ(d.action, Action::fail);
  // Two attempts on each deployment (a third would wait for the window while another is
  // available), three on the last: 33, one more than the log holds.
  ASSERT_EQ(tried.size(), 2 * kMaxRouteLength + 1);
  EXPECT_EQ(tried[2], "p1/m");
  EXPECT_EQ(tried[2 * kMaxRouteLength], "p15/m");
  EXPECT_EQ(planner_->final_error().http_status, 503);
  std::string h = header();
  EXPECT_TRUE(h.starts_with("33; p0/m=503,p0/m=503,p1/m=503,")) << h;
  EXPECT_NE(h.find(",p7/m=503,p8/m=503,"), std::string::npos) << h;
  EXPECT_EQ(std::count(h.begin(), h.end(), '='), static_cast<long>(AttemptPlanner::kMaxLog)) << h;
}

TEST_F(PlannerTest, AContextFallbackBeyondTheInlineRoomIsTried) {
  auto a = provider("a", {"s1", "s2", "s3", "s4"});
  for (auto& m : a.models) m.context_window = 8000;
  auto b = provider("b", {"large"});
  b.models[0].context_window = 200000;
  ModelRouteConfig r{.name = "chat",
                     .deployments = {{"a", "s1", 1, 1}, {"a", "s2", 2, 1}, {"a", "s3", 3, 1}, {"a", "s4", 4, 1}},
                     .context_fallbacks = {"b/large"}};
  build({a, b}, {r});
  start("chat");
  Decision d = planner_->after(AttemptOutcome::http_error(400, "context_length_exceeded"), now_, error(400));
  ASSERT_EQ(d.action, Action::attempt);
  EXPECT_EQ(d.deployment->label, "b/large");  // the fifth deployment of the route
  d = fail_status(503, "60");
  EXPECT_EQ(d.action, Action::fail);  // a/s2..s4 are no larger than a/s1
  EXPECT_EQ(header(), "2; a/s1=400,b/large=503");
}

TEST_F(PlannerTest, MaxAttemptsBoundsTheRequest) {
  config_.max_attempts = 2;
  start("m");
  fail_status(503);
  Decision d = fail_status(503);
  EXPECT_EQ(d.action, Action::fail);
  EXPECT_EQ(planner_->attempts(), 2);
}

TEST_F(PlannerTest, DeadlineStopsWaitsAndCutsAttemptLimits) {
  Decision d = start("m", 2s);
  ASSERT_EQ(d.action, Action::attempt);
  EXPECT_EQ(d.timeouts.total, 2s);
  EXPECT_EQ(d.timeouts.headers, 2s);
  d = fail_status(429, "3");  // the wait would end after the deadline: the next deployment now
  ASSERT_EQ(d.action, Action::attempt);
  EXPECT_EQ(d.deployment->label, "b/m");
  now_ = now_ + 2s;
  d = fail_status(503);
  ASSERT_EQ(d.action, Action::fail);
  EXPECT_EQ(planner_->final_error().http_status, 503);
}

TEST_F(PlannerTest, OpenBreakersAreSkippedAndAllOpenIsA503NamingThem) {
  config_.breaker.consecutive_failures = 1;
  planner_.reset();
  breakers_ = std::make_unique<LocalBreakerStore>(table_->slot_count(), config_.breaker);
  start("m");
  fail_status(503, "45");  // opens a's breaker (cooldown 30s, Retry-After 45s) and moves to b
  Decision d = start("m");
  ASSERT_EQ(d.action, Action::attempt);
  EXPECT_EQ(d.deployment->label, "b/m");
  planner_->after(AttemptOutcome::success(), now_);
  EXPECT_EQ(header(), "1; a/m=open,b/m=200");

  for (const char* p : {"a/m", "b/m", "c/m"}) {
    auto slot = std::find_if(table_->slots().begin(), table_->slots().end(), [&](auto& s) { return s.label == p; });
    breakers_->record_failure(static_cast<uint32_t>(slot - table_->slots().begin()), now_.steady, 0ms);
  }
  d = start("m");
  ASSERT_EQ(d.action, Action::fail);
  const Error& e = planner_->final_error();
  EXPECT_EQ(e.http_status, 503);
  EXPECT_EQ(e.code, "all_deployments_unavailable");
  EXPECT_NE(e.message.find("a/m (next try in 45s)"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("c/m (next try in 30s)"), std::string::npos) << e.message;
  EXPECT_EQ(e.retry_after, "30");
  EXPECT_EQ(header(), "0; a/m=open,b/m=open,c/m=open");
}

TEST_F(PlannerTest, AbandonedProbeIsGivenBack) {
  config_.breaker.consecutive_failures = 1;
  config_.breaker.cooldown = 1s;
  breakers_ = std::make_unique<LocalBreakerStore>(table_->slot_count(), config_.breaker);
  start("a/m");
  fail_status(503, "120");  // opens; one deployment, Retry-After too long: fail
  now_ = now_ + 121s;
  Decision d = start("a/m");
  ASSERT_EQ(d.action, Action::attempt);  // the half-open probe
  planner_.reset();                      // the client left before the outcome
  d = start("a/m");
  EXPECT_EQ(d.action, Action::attempt);  // the probe was given back, not lost
}

}  // namespace
}  // namespace llmux::router
