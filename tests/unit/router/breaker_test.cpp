#include "router/breaker.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "router_test_util.hpp"

namespace llmux::router {
namespace {

using namespace std::chrono_literals;
using Verdict = Admission::Verdict;

class BreakerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.consecutive_failures = 3;
    config_.cooldown = 10s;
    config_.min_requests = 10;
    config_.error_rate = 0.5;
    config_.window = 10s;
    make();
  }
  void make() {
    store_ = std::make_unique<LocalBreakerStore>(2, config_, [this](const BreakerEvent& e) {
      events_.push_back(std::string(breaker_state_name(e.from)) + "->" + breaker_state_name(e.to) + ":" +
                        std::string(e.reason));
    });
  }
  BreakerConfig config_;
  std::unique_ptr<LocalBreakerStore> store_;
  std::vector<std::string> events_;
  SteadyTime now_ = test::epoch().steady;
};

TEST_F(BreakerTest, OpensAfterConsecutiveFailuresAndOnlyThen) {
  store_->record_failure(0, now_, 0ms);
  store_->record_failure(0, now_, 0ms);
  store_->record_success(0, now_);  // resets the run
  store_->record_failure(0, now_, 0ms);
  store_->record_failure(0, now_, 0ms);
  EXPECT_EQ(store_->admit(0, now_).verdict, Verdict::allowed);
  store_->record_failure(0, now_, 0ms);
  Admission a = store_->admit(0, now_);
  EXPECT_EQ(a.verdict, Verdict::rejected);
  EXPECT_EQ(a.retry_at, now_ + 10s);
  EXPECT_EQ(store_->admit(1, now_).verdict, Verdict::allowed);  // other slots unaffected
  EXPECT_EQ(events_, (std::vector<std::string>{"closed->open:consecutive failures"}));
}

TEST_F(BreakerTest, CooldownIsAtLeastTheRetryAfterSeen) {
  for (int i = 0; i < 3; ++i) store_->record_failure(0, now_, 25s);
  EXPECT_EQ(store_->admit(0, now_ + 24s).verdict, Verdict::rejected);
  EXPECT_EQ(store_->admit(0, now_ + 25s).verdict, Verdict::probe);
}

TEST_F(BreakerTest, HalfOpenAdmitsOneProbeAndItsSuccessCloses) {
  for (int i = 0; i < 3; ++i) store_->record_failure(0, now_, 0ms);
  SteadyTime later = now_ + 10s;
  EXPECT_EQ(store_->admit(0, later).verdict, Verdict::probe);
  EXPECT_EQ(store_->admit(0, later).verdict, Verdict::rejected);  // one probe at a time
  EXPECT_EQ(store_->status(0, later).state, BreakerState::half_open);
  store_->record_success(0, later);
  EXPECT_EQ(store_->admit(0, later).verdict, Verdict::allowed);
  EXPECT_EQ(events_.back(), "half_open->closed:probe succeeded");
}

TEST_F(BreakerTest, AFailedProbeReopens) {
  for (int i = 0; i < 3; ++i) store_->record_failure(0, now_, 0ms);
  SteadyTime later = now_ + 10s;
  ASSERT_EQ(store_->admit(0, later).verdict, Verdict::probe);
  store_->record_failure(0, later, 0ms);
  EXPECT_EQ(store_->admit(0, later + 9s).verdict, Verdict::rejected);
  EXPECT_EQ(events_.back(), "half_open->open:probe failed");
}

TEST_F(BreakerTest, AReleasedProbeLetsTheNextRequestProbe) {
  for (int i = 0; i < 3; ++i) store_->record_failure(0, now_, 0ms);
  SteadyTime later = now_ + 10s;
  ASSERT_EQ(store_->admit(0, later).verdict, Verdict::probe);
  store_->release(0, true);
  EXPECT_EQ(store_->admit(0, later).verdict, Verdict::probe);
}

TEST_F(BreakerTest, AStuckProbeIsReplacedAfterACooldown) {
  for (int i = 0; i < 3; ++i) store_->record_failure(0, now_, 0ms);
  ASSERT_EQ(store_->admit(0, now_ + 10s).verdict, Verdict::probe);
  EXPECT_EQ(store_->admit(0, now_ + 19s).verdict, Verdict::rejected);
  EXPECT_EQ(store_->admit(0, now_ + 20s).verdict, Verdict::probe);
}

TEST_F(BreakerTest, OpensOnErrorRateOverTheWindow) {
  config_.consecutive_failures = 100;
  make();
  // Alternating: never 100 in a row, but half of 10 attempts failed.
  for (int i = 0; i < 5; ++i) {
    store_->record_success(0, now_);
    EXPECT_EQ(store_->admit(0, now_).verdict, Verdict::allowed);
    store_->record_failure(0, now_, 0ms);
  }
  EXPECT_EQ(store_->admit(0, now_).verdict, Verdict::rejected);
  EXPECT_EQ(events_, (std::vector<std::string>{"closed->open:error rate over the window"}));
}

TEST_F(BreakerTest, OldFailuresLeaveTheWindow) {
  config_.consecutive_failures = 100;
  make();
  for (int i = 0; i < 4; ++i) store_->record_failure(0, now_, 0ms);
  for (int i = 0; i < 5; ++i) store_->record_success(0, now_ + 11s);
  store_->record_failure(0, now_ + 11s, 0ms);
  auto s = store_->status(0, now_ + 11s);
  EXPECT_EQ(s.window_attempts, 6u);
  EXPECT_EQ(s.window_failures, 1u);
  EXPECT_EQ(s.state, BreakerState::closed);
}

TEST_F(BreakerTest, ASuccessfulHealthProbeEndsTheCooldown) {
  for (int i = 0; i < 3; ++i) store_->record_failure(0, now_, 0ms);
  store_->record_probe(0, true, now_ + 1s);
  EXPECT_EQ(store_->admit(0, now_ + 1s).verdict, Verdict::probe);
  store_->record_probe(1, false, now_);
  EXPECT_EQ(store_->status(1, now_).consecutive_failures, 1);
}

// A store built from another's slots (a config reload) continues their state, in any order.
TEST_F(BreakerTest, AStoreBuiltFromSharedSlotsContinuesTheirState) {
  for (int i = 0; i < 3; ++i) store_->record_failure(1, now_, 0ms);
  ASSERT_EQ(store_->status(1, now_).state, BreakerState::open);
  LocalBreakerStore reloaded({LocalBreakerStore::make_slot(config_), store_->shared_slot(1)}, config_);
  EXPECT_EQ(reloaded.status(0, now_).state, BreakerState::closed);
  EXPECT_EQ(reloaded.status(1, now_).state, BreakerState::open);
  EXPECT_FALSE(reloaded.admit(1, now_ + 5s).admitted());
  EXPECT_EQ(reloaded.admit(1, now_ + 10s).verdict, Verdict::probe);
  reloaded.record_success(1, now_ + 10s);
  EXPECT_EQ(store_->status(1, now_ + 10s).state, BreakerState::closed);  // one slot, seen through both
}

TEST_F(BreakerTest, TripOpensAtOnceAndKeepsAnOpenBreakerOpen) {
  store_->trip(0, now_, "provider down");
  EXPECT_EQ(store_->status(0, now_).state, BreakerState::open);
  EXPECT_EQ(store_->status(0, now_).open_until, now_ + 10s);
  store_->trip(0, now_ + 8s, "provider down");
  EXPECT_EQ(store_->status(0, now_).open_until, now_ + 18s);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0], "closed->open:provider down");
}

TEST_F(BreakerTest, EventsDescribeThemselves) {
  BreakerEvent e{0, BreakerState::closed, BreakerState::open, "consecutive failures", now_, now_ + 30s};
  EXPECT_EQ(describe(e, "a/gpt-4o"), "breaker a/gpt-4o: closed -> open (consecutive failures), next probe in 30s");
}

}  // namespace
}  // namespace llmux::router
