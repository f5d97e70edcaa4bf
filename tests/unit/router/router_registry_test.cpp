// RouterRegistry: breakers, balancer statistics and health carried from one config snapshot to
// the next (a reload), keyed by deployment (provider + upstream model) and provider.
#include <gtest/gtest.h>

#include "router_test_util.hpp"
#include "server/gateway_state.hpp"
#include "server/health_probes.hpp"

namespace llmux::server {
namespace {

using namespace std::chrono_literals;

GatewayConfig config_of(std::vector<ProviderConfig> providers) {
  GatewayConfig c;
  c.providers = std::move(providers);
  c.router.breaker.consecutive_failures = 1;
  c.router.breaker.cooldown = 60s;
  return c;
}

std::shared_ptr<const GatewayState> build(GatewayConfig config) {
  auto state = GatewayState::build(std::move(config));
  EXPECT_TRUE(state) << (state ? "" : state.error().front());
  return *state;
}

uint32_t slot_of(const GatewayState& s, std::string_view label) {
  const auto& slots = s.routes->slots();
  for (uint32_t i = 0; i < slots.size(); ++i)
    if (slots[i].label == label) return i;
  ADD_FAILURE() << "no slot " << label;
  return 0;
}

TEST(RouterRegistry, AReloadKeepsTheStateOfDeploymentsThatStayAndStartsNewOnesFresh) {
  RouterRegistry registry;
  auto now = router::SteadyClock::now();
  auto first = build(config_of({router::test::provider("a", {"m", "n"}), router::test::provider("b", {"m"})}));
  registry.bind(*first);
  first->breakers->record_failure(slot_of(*first, "a/m"), now, 0ms);
  first->breakers->record_failure(slot_of(*first, "b/m"), now, 0ms);
  first->stats->begin_attempt(slot_of(*first, "a/m"));
  first->stats->record_first_token(slot_of(*first, "a/m"), 1500us);
  first->health->record_probe(*first->health->index_of("a"), {false, 0ms, "refused", {}}, now);

  // b is gone, a lists m in another position and a new model k; c is new.
  auto second = build(config_of({router::test::provider("c", {"m"}), router::test::provider("a", {"k", "m"})}));
  registry.bind(*second);
  EXPECT_EQ(second->breakers->status(slot_of(*second, "a/m"), now).state, router::BreakerState::open);
  EXPECT_EQ(second->breakers->status(slot_of(*second, "a/k"), now).state, router::BreakerState::closed);
  EXPECT_EQ(second->breakers->status(slot_of(*second, "c/m"), now).state, router::BreakerState::closed);
  EXPECT_EQ(second->stats->inflight(slot_of(*second, "a/m")), 1);
  EXPECT_EQ(second->stats->ttft_ewma(slot_of(*second, "a/m")), 1500us);
  // The old snapshot's request ends: the count the new one sees goes down with it.
  first->stats->end_attempt(slot_of(*first, "a/m"));
  EXPECT_EQ(second->stats->inflight(slot_of(*second, "a/m")), 0);
  auto a = second->health->snapshot(*second->health->index_of("a"), now);
  EXPECT_EQ(a.status, router::HealthStatus::degraded);
  EXPECT_EQ(a.last_error, "refused");
  EXPECT_EQ(second->health->status(*second->health->index_of("c")), router::HealthStatus::unknown);

  // b comes back: its breaker was dropped with it, so it starts closed.
  auto third = build(config_of({router::test::provider("a", {"m"}), router::test::provider("b", {"m"})}));
  registry.bind(*third);
  EXPECT_EQ(third->breakers->status(slot_of(*third, "b/m"), now).state, router::BreakerState::closed);
  EXPECT_EQ(third->breakers->status(slot_of(*third, "a/m"), now).state, router::BreakerState::open);
  EXPECT_EQ(registry.deployment_count(), third->routes->slot_count());
}

// A new key (or URL, or header) is another upstream: the 401s of the old one say nothing about it.
TEST(RouterRegistry, AProviderWhoseCredentialChangedStartsAfresh) {
  RouterRegistry registry;
  auto now = router::SteadyClock::now();
  auto keyless = router::test::provider("a", {"m"});
  auto first = build(config_of({keyless}));
  registry.bind(*first);
  first->breakers->record_failure(slot_of(*first, "a/m"), now, 0ms);
  first->health->record_traffic(0, false, now, "401", {});
  auto keyed = keyless;
  keyed.api_key = Secret("sk-new");
  auto second = build(config_of({keyed}));
  registry.bind(*second);
  EXPECT_EQ(second->breakers->status(slot_of(*second, "a/m"), now).state, router::BreakerState::closed);
  EXPECT_EQ(second->health->snapshot(0, now).window_attempts, 0u);
  auto third = build(config_of({keyed}));
  registry.bind(*third);  // unchanged: kept
  second->breakers->record_failure(slot_of(*second, "a/m"), now, 0ms);
  EXPECT_EQ(third->breakers->status(slot_of(*third, "a/m"), now).state, router::BreakerState::open);
}

TEST(RouterRegistry, AChangedBreakerWindowStartsBreakersAfresh) {
  RouterRegistry registry;
  auto now = router::SteadyClock::now();
  auto first = build(config_of({router::test::provider("a", {"m"})}));
  registry.bind(*first);
  first->breakers->record_failure(slot_of(*first, "a/m"), now, 0ms);
  auto config = config_of({router::test::provider("a", {"m"})});
  config.router.breaker.cooldown = 5s;  // applies to the kept state
  auto second = build(config);
  registry.bind(*second);
  EXPECT_EQ(second->breakers->status(slot_of(*second, "a/m"), now).state, router::BreakerState::open);
  config.router.breaker.window = 5s;
  auto third = build(config);
  registry.bind(*third);
  EXPECT_EQ(third->breakers->status(slot_of(*third, "a/m"), now).state, router::BreakerState::closed);
}

TEST(RouterRegistry, DisabledProvidersAreNotWatched) {
  auto disabled = router::test::provider("off", {"m"});
  disabled.enabled = false;
  auto state = build(config_of({router::test::provider("a", {"m"}), disabled}));
  EXPECT_EQ(state->health->size(), 1u);
  EXPECT_TRUE(state->health_index(*state->providers[0]));
  EXPECT_FALSE(state->health_index(*state->providers[1]));
}

}  // namespace
}  // namespace llmux::server

namespace llmux::server {
namespace {

TEST(HealthProbes, AWebhookUrlIsLoggedByItsOriginOnly) {
  EXPECT_EQ(url_origin("https://user:pw@hooks.example.com:8443/T0/secret?x=1"), "https://hooks.example.com:8443");
  EXPECT_EQ(url_origin("http://127.0.0.1:9/hook"), "http://127.0.0.1:9");
  EXPECT_EQ(url_origin("https://hooks.example.com"), "https://hooks.example.com");
  EXPECT_EQ(url_origin("not a url"), "(invalid URL)");
}

}  // namespace
}  // namespace llmux::server
