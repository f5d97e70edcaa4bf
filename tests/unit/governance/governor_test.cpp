// The governance state across config reloads: what a reload keeps (by provider and key id) and
// the config keys' static policies.
#include <gtest/gtest.h>

#include "governance/governor.hpp"

namespace llmux::governance {
namespace {

GatewayConfig config_with(std::vector<std::string> providers, uint32_t rpm) {
  GatewayConfig c;
  for (auto& id : providers) {
    ProviderConfig p;
    p.id = id;
    p.governance.limits.rpm = rpm;
    p.governance.budget.daily_micro_usd = 1000;
    c.providers.push_back(p);
  }
  c.api_keys.emplace_back("k0");
  c.api_keys.emplace_back("k1");
  ApiKeySettings team;
  team.name = "team";
  team.limits.tpm = 5;
  c.api_key_settings = {ApiKeySettings{}, team};
  return c;
}

TEST(GovernanceRegistry, AReloadKeepsTheStateOfProvidersAndKeysItKeeps) {
  GovernanceRegistry registry;
  auto first = registry.bind(config_with({"a", "b"}, 10));
  auto* a = first->provider("a");
  ASSERT_NE(a, nullptr);
  SubjectState& virtual_key = first->key_state("vk-1");  // met on the request path
  SubjectState& config_key = first->key_state("api_keys[1]");

  auto second = registry.bind(config_with({"a", "c"}, 20));
  ASSERT_NE(second->provider("a"), nullptr);
  EXPECT_EQ(second->provider("a")->state.get(), a->state.get());
  EXPECT_EQ(second->provider("a")->limits.rpm, 20u);  // the new limit applies to the old counters
  EXPECT_NE(second->provider("c")->state.get(), first->provider("b")->state.get());
  EXPECT_EQ(second->provider("b"), nullptr);
  EXPECT_EQ(&second->key_state("vk-1"), &virtual_key);
  EXPECT_EQ(&second->key_state("api_keys[1]"), &config_key);
}

TEST(GovernanceRegistry, ConfigKeysHaveStaticPolicies) {
  GovernanceRegistry registry;
  auto g = registry.bind(config_with({"a"}, 0));
  EXPECT_EQ(g->master_policy()->id, "master_key");
  EXPECT_EQ(g->api_key_policy(0)->id, "api_keys[0]");
  EXPECT_EQ(g->api_key_policy(0)->name, "api_keys[0]");
  EXPECT_EQ(g->api_key_policy(1)->name, "team");
  EXPECT_EQ(g->api_key_policy(1)->limits.tpm, 5u);
}

TEST(GovernanceRegistry, BudgetAlertJsonNamesTheSubjectAndAmounts) {
  BudgetAlert a{"key", "team \"a\"", {true, BudgetPeriod::monthly, 2'500'000, 5'000'000}, 0.5};
  EXPECT_EQ(budget_alert_json(a),
            R"({"type":"budget_alert","subject":"key","id":"team \"a\"","period":"monthly","spent_usd":2.5,"cap_usd":5,"threshold":0.500000})");
}

}  // namespace
}  // namespace llmux::governance
