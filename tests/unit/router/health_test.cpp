#include "router/health.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "router_test_util.hpp"

namespace llmux::router {
namespace {

using namespace std::chrono_literals;

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.window = 1h;
    config_.degraded_latency = 2s;
    monitor_ = std::make_unique<HealthMonitor>(std::vector<std::string>{"a", "b"}, config_,
                                               [this](const HealthEvent& e) { events_.push_back(e); });
  }
  ProbeResult probe(bool ok, Millis latency = 100ms, std::string error = {}) {
    return {ok, latency, std::move(error), now_.wall};
  }
  void advance(SteadyClock::duration d) { now_ = now_ + d; }

  HealthConfig config_;
  std::unique_ptr<HealthMonitor> monitor_;
  std::vector<HealthEvent> events_;
  Instant now_ = test::epoch();
};

TEST_F(HealthTest, ProbesMoveAProviderThroughItsStates) {
  EXPECT_EQ(monitor_->status(0), HealthStatus::unknown);
  monitor_->record_probe(0, probe(true), now_.steady);
  EXPECT_EQ(monitor_->status(0), HealthStatus::healthy);
  monitor_->record_probe(0, probe(false, 0ms, "connection refused"), now_.steady);
  EXPECT_EQ(monitor_->status(0), HealthStatus::degraded);
  monitor_->record_probe(0, probe(false, 0ms, "connection refused"), now_.steady);
  monitor_->record_probe(0, probe(false, 0ms, "connection refused"), now_.steady);
  EXPECT_EQ(monitor_->status(0), HealthStatus::down);
  monitor_->record_probe(0, probe(true, 3s), now_.steady);
  EXPECT_EQ(monitor_->status(0), HealthStatus::degraded);  // slower than degraded_latency
  monitor_->record_probe(0, probe(true), now_.steady);
  EXPECT_EQ(monitor_->status(0), HealthStatus::healthy);
  ASSERT_EQ(events_.size(), 5u);
  EXPECT_EQ(events_[2].from, HealthStatus::degraded);
  EXPECT_EQ(events_[2].to, HealthStatus::down);
  EXPECT_EQ(events_[2].reason, "3 probes failed in a row: connection refused");
  EXPECT_EQ(alert_payload_json(events_[2]),
            R"({"provider":"a","from":"degraded","to":"down","reason":"3 probes failed in a row: connection refused","time":"2023-11-14T22:13:20Z"})");
}

TEST_F(HealthTest, UptimeLatencyAndLastErrorOverTheWindow) {
  monitor_->record_probe(0, probe(false, 0ms, "HTTP 500"), now_.steady);
  advance(2h);  // the failure leaves the window
  for (int i = 0; i < 3; ++i) monitor_->record_probe(0, probe(true, 120ms), now_.steady);
  monitor_->record_probe(0, probe(false, 0ms, "timeout"), now_.steady);
  HealthSnapshot s = monitor_->snapshot(0, now_.steady);
  EXPECT_DOUBLE_EQ(*s.uptime_percent, 75.0);
  EXPECT_EQ(s.latency, 120ms);
  EXPECT_EQ(s.last_error, "timeout");
  EXPECT_EQ(s.last_check, now_.wall);
}

TEST_F(HealthTest, LiveTrafficMarksDownAndRecovers) {
  for (int i = 0; i < 10; ++i) monitor_->record_traffic(1, true, now_.steady);
  EXPECT_EQ(monitor_->status(1), HealthStatus::healthy);
  for (int i = 0; i < 5; ++i) monitor_->record_traffic(1, false, now_.steady, "503 from upstream", now_.wall);
  EXPECT_EQ(monitor_->status(1), HealthStatus::down);
  EXPECT_EQ(events_.back().reason, "5 requests failed in a row: 503 from upstream");
  // No longer 5 in a row, but 5 of 16 in the window failed (a quarter or more).
  monitor_->record_traffic(1, true, now_.steady);
  EXPECT_EQ(monitor_->status(1), HealthStatus::degraded);
  for (int i = 0; i < 5; ++i) monitor_->record_traffic(1, true, now_.steady);
  EXPECT_EQ(monitor_->status(1), HealthStatus::healthy);  // 5 of 21
  EXPECT_EQ(monitor_->snapshot(1, now_.steady).window_failures, 5u);
  EXPECT_EQ(monitor_->snapshot(1, now_.steady).last_error, "503 from upstream");
}

TEST_F(HealthTest, SchedulerSpreadsProbesFeedsBreakersAndNeverOverlaps) {
  BreakerConfig bc;
  bc.consecutive_failures = 1;
  LocalBreakerStore breakers(3, bc);
  std::vector<std::pair<size_t, ProbeScheduler::Done>> started;
  ProbeScheduler scheduler(
      *monitor_, &breakers, {0, 1, 0}, 10s, [&](size_t i, ProbeScheduler::Done done) { started.emplace_back(i, done); },
      [this] { return now_; }, now_);
  SteadyTime next = scheduler.run_due();
  ASSERT_EQ(started.size(), 1u);  // a now, b half an interval later
  EXPECT_EQ(started[0].first, 0u);
  EXPECT_EQ(next, now_.steady + 5s);
  EXPECT_EQ(scheduler.run_due(), now_.steady + 5s);
  EXPECT_EQ(started.size(), 1u);  // a's probe is still running: not started twice
  advance(1s);
  started[0].second(probe(false, 0ms, "connection refused"));
  EXPECT_EQ(monitor_->status(0), HealthStatus::degraded);
  EXPECT_EQ(breakers.status(0, now_.steady).state, BreakerState::open);  // slots 0 and 2 belong to a
  EXPECT_EQ(breakers.status(2, now_.steady).state, BreakerState::open);
  EXPECT_EQ(breakers.status(1, now_.steady).state, BreakerState::closed);
  advance(4s);
  scheduler.run_due();
  ASSERT_EQ(started.size(), 2u);
  EXPECT_EQ(started[1].first, 1u);
  advance(6s);  // a is due 10 s after its probe finished
  scheduler.run_due();
  ASSERT_EQ(started.size(), 3u);
  EXPECT_EQ(started[2].first, 0u);
}

// Down (3 probes failed in a row) opens every breaker of the provider at once, even when the
// breaker itself would wait for more failures; a successful probe then only ends the cooldown.
TEST_F(HealthTest, ADownProviderTripsItsBreakersAndASuccessfulProbeOnlyEndsTheCooldown) {
  BreakerConfig bc;
  bc.consecutive_failures = 100;
  bc.cooldown = 60s;
  LocalBreakerStore breakers(2, bc);
  std::vector<ProbeScheduler::Done> started;
  ProbeScheduler scheduler(
      *monitor_, &breakers, {0, 0}, 10s, [&](size_t i, ProbeScheduler::Done done) { if (i == 0) started.push_back(done); },
      [this] { return now_; }, now_);
  for (int i = 0; i < 3; ++i) {
    scheduler.run_due();
    ASSERT_EQ(started.size(), static_cast<size_t>(i + 1));
    EXPECT_EQ(breakers.status(0, now_.steady).state, BreakerState::closed);
    started.back()(probe(false, 0ms, "connection refused"));
    advance(10s);
  }
  EXPECT_EQ(monitor_->status(0), HealthStatus::down);
  EXPECT_EQ(breakers.status(0, now_.steady).state, BreakerState::open);
  EXPECT_EQ(breakers.status(1, now_.steady).state, BreakerState::open);
  EXPECT_FALSE(breakers.admit(0, now_.steady).admitted());
  scheduler.run_due();
  started.back()(probe(true));
  EXPECT_EQ(breakers.status(0, now_.steady).state, BreakerState::open);  // not closed by a listing
  EXPECT_EQ(breakers.admit(0, now_.steady).verdict, Admission::Verdict::probe);
}

// A reload builds a new monitor from the old one's records: the history carries on.
TEST_F(HealthTest, AMonitorBuiltFromSharedRecordsContinuesThem) {
  for (int i = 0; i < 3; ++i) monitor_->record_probe(1, probe(false, 0ms, "refused"), now_.steady);
  ASSERT_EQ(monitor_->status(1), HealthStatus::down);
  std::vector<HealthEvent> later;
  HealthMonitor reloaded({monitor_->shared_record(1), HealthMonitor::make_record("c", config_)}, config_,
                         [&](const HealthEvent& e) { later.push_back(e); });
  EXPECT_EQ(reloaded.index_of("b"), 0u);
  EXPECT_EQ(reloaded.status(0), HealthStatus::down);
  EXPECT_EQ(reloaded.snapshot(0, now_.steady).consecutive_probe_failures, 3);
  EXPECT_EQ(reloaded.status(1), HealthStatus::unknown);
  reloaded.record_probe(0, probe(true), now_.steady);
  EXPECT_EQ(monitor_->status(1), HealthStatus::healthy);  // one record, seen through both
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].from, HealthStatus::down);
}

TEST_F(HealthTest, RendersHealthAndProviderStatus) {
  monitor_->record_probe(0, probe(true, 42ms), now_.steady);
  auto health = boost::json::parse(render_health_json(*monitor_, now_.steady));
  const auto& a = health.at("providers").at(0);
  EXPECT_EQ(a.at("id"), "a");
  EXPECT_EQ(a.at("status"), "healthy");
  EXPECT_EQ(a.at("latency_ms"), 42);
  EXPECT_EQ(a.at("uptime_percent"), 100.0);
  EXPECT_EQ(a.at("last_check"), "2023-11-14T22:13:20Z");
  EXPECT_TRUE(health.at("providers").at(1).at("last_check").is_null());

  auto providers = test::make({test::provider("a", {"m"}), test::provider("b", {})});
  ModelCatalog catalog(providers);
  RouteTable table(providers, {}, BalanceStrategy::priority, catalog);
  LocalBreakerStore breakers(table.slot_count(), BreakerConfig{.consecutive_failures = 1});
  breakers.record_failure(0, now_.steady, 0ms);
  auto listed = boost::json::parse(render_providers_json(providers, *monitor_, table, breakers, now_.steady));
  const auto& pa = listed.at("providers").at(0);
  EXPECT_EQ(pa.at("enabled"), true);
  EXPECT_EQ(pa.at("default_model"), "m");
  EXPECT_EQ(pa.at("health"), "healthy");
  EXPECT_EQ(pa.at("deployments").at(0).at("deployment"), "a/m");
  EXPECT_EQ(pa.at("deployments").at(0).at("breaker"), "open");
  EXPECT_EQ(pa.at("deployments").at(0).at("retry_in_ms"), 30000);
  EXPECT_TRUE(listed.at("providers").at(1).at("default_model").is_null());
}

}  // namespace
}  // namespace llmux::router
