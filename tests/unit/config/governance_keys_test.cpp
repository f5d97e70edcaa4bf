// The rate-limit and budget settings of the config: both provider shapes, camelCase and
// snake_case, the object form of api_keys, and what is reported for bad values.
#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace llmux::config_test {
namespace {

TEST(GovernanceKeys, ListStyleProviderReadsTheSeedsCamelCaseKeys) {
  auto c = load_ok(R"(
providers:
  - id: a
    base_url: http://127.0.0.1:1/v1
    rateLimit: { rpm: 60, rph: 1000, concurrent: 4, tpm: 90000 }
    budget: { daily: 10, monthly: 200.5, alertThreshold: 0.8 }
)");
  ASSERT_EQ(c.providers.size(), 1u);
  const auto& g = c.providers[0].governance;
  EXPECT_EQ(g.limits.rpm, 60u);
  EXPECT_EQ(g.limits.rph, 1000u);
  EXPECT_EQ(g.limits.concurrent, 4u);
  EXPECT_EQ(g.limits.tpm, 90000u);
  EXPECT_EQ(g.budget.daily_micro_usd, 10'000'000);
  EXPECT_EQ(g.budget.monthly_micro_usd, 200'500'000);
  EXPECT_DOUBLE_EQ(g.budget.alert_threshold, 0.8);
}

TEST(GovernanceKeys, MapStyleProviderAcceptsSnakeCase) {
  auto c = load_ok(R"(
providers:
  a:
    base_url: http://127.0.0.1:1/v1
    rate_limit: { rpm: 5 }
    budget: { daily: 0.25, alert_threshold: 0.5 }
)");
  ASSERT_EQ(c.providers.size(), 1u);
  EXPECT_EQ(c.providers[0].governance.limits.rpm, 5u);
  EXPECT_EQ(c.providers[0].governance.budget.daily_micro_usd, 250'000);
  EXPECT_EQ(c.providers[0].governance.budget.monthly_micro_usd, 0);
}

TEST(GovernanceKeys, ApiKeysMixPlainAndObjectForms) {
  auto c = load_ok(R"(
api_keys:
  - plain-key
  - { name: team-a, key: team-a-key, rpm: 2, tpm: 100, concurrent: 1, budget: { daily: 1, monthly: 5 } }
  - ${LLMUX_TEST_UNSET_KEY:-}
providers:
  - { id: a, base_url: "http://127.0.0.1:1/v1" }
)");
  ASSERT_EQ(c.api_keys.size(), 2u);
  ASSERT_EQ(c.api_key_settings.size(), 2u);
  EXPECT_TRUE(c.api_keys[1].equals("team-a-key"));
  EXPECT_EQ(c.api_key_settings[0].name, "");
  EXPECT_FALSE(c.api_key_settings[0].limits.any());
  EXPECT_EQ(c.api_key_settings[1].name, "team-a");
  EXPECT_EQ(c.api_key_settings[1].limits.rpm, 2u);
  EXPECT_EQ(c.api_key_settings[1].limits.tpm, 100u);
  EXPECT_EQ(c.api_key_settings[1].limits.concurrent, 1u);
  EXPECT_EQ(c.api_key_settings[1].budget.daily_micro_usd, 1'000'000);
  EXPECT_EQ(c.api_key_settings[1].budget.monthly_micro_usd, 5'000'000);
}

TEST(GovernanceKeys, BadValuesAreReportedAtTheirKey) {
  auto errors = load_errors(R"(
providers:
  - id: a
    base_url: http://127.0.0.1:1/v1
    rateLimit: { rpm: -1, burst: 3 }
    budget: { daily: ten, alertThreshold: 1.5 }
api_keys:
  - { name: no-key, rpm: 1 }
)");
  std::string all;
  for (const auto& e : errors) all += e + "\n";
  EXPECT_NE(all.find("cfg.yaml:5:"), std::string::npos) << all;
  EXPECT_NE(all.find("providers[0].rateLimit.rpm: expected a whole number"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown key \"burst\""), std::string::npos) << all;
  EXPECT_NE(all.find("providers[0].budget.daily: expected an amount in USD"), std::string::npos) << all;
  EXPECT_NE(all.find("budget.alertThreshold: expected a share of the cap from 0 to 1"), std::string::npos) << all;
  EXPECT_NE(all.find("api_keys[0]: an api_keys entry written as a mapping needs key:"), std::string::npos) << all;
}

}  // namespace
}  // namespace llmux::config_test
