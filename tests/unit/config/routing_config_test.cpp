// The routing sections: models:, router:, alerts:, provider timeouts:.
#include <gtest/gtest.h>

#include "config_test_util.hpp"
#include "llmux/config.hpp"

namespace llmux {
namespace {

using namespace std::chrono_literals;
using config_test::load_errors;
using config_test::load_ok;
using Strings = std::vector<std::string>;

constexpr const char* kProviders = R"(providers:
  a: { base_url: "http://127.0.0.1:9/v1", models: [gpt-4o, {id: big, context_window: 200000}] }
  b: { base_url: "http://127.0.0.1:8/v1", models: [claude-sonnet-4-5] }
  open: { base_url: "http://127.0.0.1:7/v1" }
)";

TEST(RoutingConfig, ModelsSectionWithDeploymentsStrategyAndFallbacks) {
  auto config = load_ok(std::string(kProviders) + R"(models:
  smart:
    aliases: [clever]
    deployments:
      - {provider: a, model: gpt-4o, priority: 1}
      - {provider: b, model: claude-sonnet-4-5, priority: 2, weight: 3}
      - open/llama-70b
    strategy: weighted
    context_fallbacks: [a/big]
    content_policy_fallback: true
)");
  ASSERT_EQ(config.models.size(), 1u);
  const ModelRouteConfig& m = config.models[0];
  EXPECT_EQ(m.name, "smart");
  EXPECT_EQ(m.aliases, Strings{"clever"});
  ASSERT_EQ(m.deployments.size(), 3u);
  EXPECT_EQ(m.deployments[1].provider, "b");
  EXPECT_EQ(m.deployments[1].model, "claude-sonnet-4-5");
  EXPECT_EQ(m.deployments[1].priority, 2);
  EXPECT_EQ(m.deployments[1].weight, 3);
  EXPECT_EQ(m.deployments[2].provider, "open");
  EXPECT_EQ(m.deployments[2].model, "llama-70b");
  EXPECT_EQ(m.deployments[2].priority, 3);  // its position
  EXPECT_EQ(m.strategy, BalanceStrategy::weighted);
  EXPECT_EQ(m.context_fallbacks, Strings{"a/big"});
  EXPECT_TRUE(m.content_policy_fallback);
}

TEST(RoutingConfig, CamelCaseJsonSpelling) {
  auto config = load_ok(R"({"providers": [{"id": "a", "baseUrl": "http://127.0.0.1:9/v1", "models": ["m"],
    "timeouts": {"connect": "2s", "firstToken": "15s", "idle": 5000}}],
  "models": {"fast": {"deployments": [{"provider": "a", "model": "m"}], "strategy": "least-busy",
                      "contextFallbacks": [], "contentPolicyFallback": false}},
  "router": {"maxAttempts": 3, "maxRetryWait": "5s", "backoff": {"base": "50ms", "cap": "1s"},
             "totalTimeout": "2m", "maxRequestTimeout": "5m", "strategy": "lowest_latency",
             "circuitBreaker": {"consecutiveFailures": 4, "errorRate": 0.25, "minRequests": 8,
                                "window": "1m", "cooldown": "15s"},
             "health": {"interval": "20s", "window": "30m", "path": "/health", "degradedLatency": "3s",
                        "timeout": "4s"}},
  "alerts": {"webhook": "https://hooks.example.com/llmux"}})");
  const ProviderTimeouts& t = config.providers.at(0).timeouts;
  EXPECT_EQ(t.connect, 2s);
  EXPECT_EQ(t.first_token, 15s);
  EXPECT_EQ(t.idle, 5s);
  EXPECT_FALSE(t.headers);
  EXPECT_EQ(config.models.at(0).strategy, BalanceStrategy::least_inflight);
  const RouterConfig& r = config.router;
  EXPECT_EQ(r.max_attempts, 3);
  EXPECT_EQ(r.max_retry_wait, 5s);
  EXPECT_EQ(r.backoff_base, 50ms);
  EXPECT_EQ(r.backoff_cap, 1s);
  EXPECT_EQ(r.total_timeout, 2min);
  EXPECT_EQ(r.max_request_timeout, 5min);
  EXPECT_EQ(r.strategy, BalanceStrategy::lowest_latency);
  EXPECT_EQ(r.breaker.consecutive_failures, 4);
  EXPECT_DOUBLE_EQ(r.breaker.error_rate, 0.25);
  EXPECT_EQ(r.breaker.min_requests, 8);
  EXPECT_EQ(r.breaker.window, 1min);
  EXPECT_EQ(r.breaker.cooldown, 15s);
  EXPECT_EQ(r.health.interval, 20s);
  EXPECT_EQ(r.health.window, 30min);
  EXPECT_EQ(r.health.path, "/health");
  EXPECT_EQ(r.health.degraded_latency, 3s);
  EXPECT_EQ(r.health.timeout, 4s);
  EXPECT_EQ(config.alerts.webhook, "https://hooks.example.com/llmux");
}

TEST(RoutingConfig, Defaults) {
  auto config = load_ok(kProviders);
  EXPECT_EQ(config.router.max_attempts, 6);
  EXPECT_EQ(config.router.max_retry_wait, 10s);
  EXPECT_EQ(config.router.health.timeout, 10s);
  EXPECT_TRUE(config.models.empty());
  EXPECT_FALSE(config.providers.at(0).timeouts.connect);
}

TEST(RoutingConfig, UnknownProviderIsAnErrorAtItsPosition) {
  EXPECT_EQ(load_errors(std::string(kProviders) + R"(models:
  smart:
    deployments:
      - {provider: a, model: gpt-4o}
      - {provider: nope, model: x}
      - {provider: b, model: gpt-4o}
)"),
            (Strings{"cfg.yaml:9:20: models.smart.deployments[1].provider: unknown provider \"nope\" (known: a, b, open)",
                     "cfg.yaml:10:30: models.smart.deployments[2].model: \"gpt-4o\" is not one of provider \"b\"'s "
                     "models (claude-sonnet-4-5)"}));
}

TEST(RoutingConfig, BadValuesAreReportedWhereWritten) {
  EXPECT_EQ(load_errors(std::string(kProviders) + R"(models:
  a: {deployments: [b/claude-sonnet-4-5]}
  smart: {deployments: [nonsense], strategy: fastest, context_fallbacks: [who]}
router: {maxAttempts: 0, backoff: {base: 2s, cap: 1s}, breaker: {error_rate: 2}}
alerts: {webhook: "ftp://x"}
)"),
            (Strings{"cfg.yaml:6:3: models.a: \"a\" is also a provider id; a routed model needs a name of its own",
                     "cfg.yaml:7:25: models.smart.deployments[0]: expected PROVIDER/MODEL or a mapping with provider "
                     "and model, got \"nonsense\"",
                     "cfg.yaml:7:46: models.smart.strategy: unknown strategy \"fastest\"; use priority, weighted, "
                     "least_inflight or lowest_latency",
                     "cfg.yaml:7:75: models.smart.context_fallbacks[0]: \"who\" is not a model llmux knows",
                     "cfg.yaml:8:23: router.maxAttempts: must be between 1 and 100",
                     "cfg.yaml:8:51: router.backoff.cap: must not be below backoff.base",
                     "cfg.yaml:8:78: router.breaker.error_rate: must be above 0 and at most 1",
                     "cfg.yaml:9:19: alerts.webhook: unsupported URL scheme \"ftp\" (use http:// or https://)"}));
}

TEST(RoutingConfig, SettingsWithoutDeploymentsNeedAListedModel) {
  EXPECT_TRUE(load_errors(std::string(kProviders) + "models: {gpt-4o: {strategy: least_inflight}}\n").empty());
  EXPECT_EQ(load_errors(std::string(kProviders) + "models: {ghost: {strategy: least_inflight}}\n"),
            Strings{"cfg.yaml:5:10: models.ghost.deployments: model \"ghost\" has no deployments and no provider "
                    "lists a model of that name"});
}

TEST(RoutingConfig, UnknownKeysInTheNewSectionsAreNamed) {
  auto errors = load_errors(std::string(kProviders) + "router: {max_attempt: 3}\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("unknown key \"max_attempt\" (did you mean \"max_attempts\"?)"), std::string::npos)
      << errors[0];
  errors = load_errors(std::string(kProviders) + "models: {m: {deployments: [{provider: a, modle: gpt-4o}]}}\n");
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].find("did you mean \"model\"?"), std::string::npos) << errors[0];
}

TEST(RoutingConfig, ASingleProviderFileWithModelsStillLoadsAsOneProvider) {
  auto config = load_ok(R"({"id": "solo", "baseUrl": "http://127.0.0.1:9/v1", "models": ["m"]})");
  ASSERT_EQ(config.providers.size(), 1u);
  EXPECT_EQ(config.providers[0].models.at(0).id, "m");
  EXPECT_TRUE(config.models.empty());
}

}  // namespace
}  // namespace llmux
