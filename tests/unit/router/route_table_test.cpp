#include "router/route_table.hpp"

#include <gtest/gtest.h>

#include "router_test_util.hpp"

namespace llmux::router {
namespace {

using test::make;
using test::provider;

std::vector<std::string> labels(const Route& r) {
  std::vector<std::string> out;
  for (const Deployment* d : r.deployments()) out.push_back(d->label);
  return out;
}

class RouteTableTest : public ::testing::Test {
 protected:
  void build(std::vector<ProviderConfig> configs, std::vector<ModelRouteConfig> routes = {},
             BalanceStrategy strategy = BalanceStrategy::priority) {
    providers_ = make(std::move(configs));
    catalog_ = std::make_unique<ModelCatalog>(providers_);
    table_ = std::make_unique<RouteTable>(providers_, routes, strategy, *catalog_);
    stats_ = std::make_unique<DeploymentStats>(table_->slot_count());
  }
  void SetUp() override {
    auto a = provider("a", {"gpt-4o", "shared"}, 2);
    a.models[0].aliases = {"4o"};
    a.models[0].context_window = 128000;
    auto b = provider("b", {"claude-sonnet-4-5", "shared"}, 1);
    b.models[0].context_window = 200000;
    auto open = provider("open", {});
    open.default_model = "llama";
    auto off = provider("off", {"shared"});
    off.enabled = false;
    ModelRouteConfig smart;
    smart.name = "smart";
    smart.aliases = {"clever"};
    smart.deployments = {{"a", "gpt-4o", 1, 1}, {"b", "claude-sonnet-4-5", 2, 3}, {"open", "big-llama", 3, 1}};
    smart.context_fallbacks = {"b/claude-sonnet-4-5"};
    build({a, b, open, off}, {smart});
  }
  Expected<void, Error> route(RouteRequest request) { return table_->route(request, *stats_, random_, route_); }

  std::vector<std::unique_ptr<providers::Provider>> providers_;
  std::unique_ptr<ModelCatalog> catalog_;
  std::unique_ptr<RouteTable> table_;
  std::unique_ptr<DeploymentStats> stats_;
  test::ScriptedRandom random_;
  Route route_;
};

TEST_F(RouteTableTest, ProvidersListingTheSameModelFormOneChainByPriority) {
  ASSERT_TRUE(route({.model = "shared"}));
  // b has priority 1, a priority 2; "off" is disabled and never part of a chain.
  EXPECT_EQ(labels(route_), (std::vector<std::string>{"b/shared", "a/shared"}));
  // The first deployment is the provider ModelCatalog resolves the name to.
  EXPECT_EQ(route_[0].provider, catalog_->resolve("shared", "")->provider);
}

TEST_F(RouteTableTest, ProviderSlashModelAndAliasesNameOneDeployment) {
  ASSERT_TRUE(route({.model = "a/shared"}));
  EXPECT_EQ(labels(route_), (std::vector<std::string>{"a/shared"}));
  ASSERT_TRUE(route({.model = "4o"}));
  EXPECT_EQ(labels(route_), (std::vector<std::string>{"a/gpt-4o"}));
  ASSERT_TRUE(route({.model = "a/4o"}));
  EXPECT_EQ(route_[0].upstream_model, "gpt-4o");
}

TEST_F(RouteTableTest, ModelsSectionCrossesProvidersAndUpstreamIds) {
  ASSERT_TRUE(route({.model = "smart"}));
  EXPECT_EQ(labels(route_), (std::vector<std::string>{"a/gpt-4o", "b/claude-sonnet-4-5", "open/big-llama"}));
  EXPECT_EQ(route_[2].upstream_model, "big-llama");
  EXPECT_EQ(route_[2].model, nullptr);
  ASSERT_NE(route_.chain(), nullptr);
  EXPECT_EQ(route_.chain()->name, "smart");
  ASSERT_EQ(route_.chain()->context_fallbacks.size(), 1u);
  EXPECT_EQ(route_.chain()->context_fallbacks[0]->label, "b/claude-sonnet-4-5");
  ASSERT_TRUE(route({.model = "clever"}));
  EXPECT_EQ(route_.size(), 3u);
}

TEST_F(RouteTableTest, SameUpstreamTargetSharesOneBreakerSlot) {
  ASSERT_TRUE(route({.model = "smart"}));
  uint32_t smart_slot = route_[0].slot;
  ASSERT_TRUE(route({.model = "a/gpt-4o"}));
  EXPECT_EQ(route_[0].slot, smart_slot);
  EXPECT_EQ(table_->slots()[smart_slot].label, "a/gpt-4o");
}

TEST_F(RouteTableTest, BodyFallbacksAreAppendedInOrderWithoutDuplicates) {
  std::vector<std::string> fallbacks{"b/claude-sonnet-4-5", "open/other", "a/gpt-4o"};
  ASSERT_TRUE(route({.model = "a/gpt-4o", .body_fallbacks = fallbacks}));
  EXPECT_EQ(labels(route_), (std::vector<std::string>{"a/gpt-4o", "b/claude-sonnet-4-5", "open/other"}));
  EXPECT_EQ(route_[2].upstream_model, "other");
}

TEST_F(RouteTableTest, HeaderFallbacksReplaceBodyFallbacks) {
  std::vector<std::string> body{"b/claude-sonnet-4-5"};
  ASSERT_TRUE(route({.model = "a/gpt-4o", .fallbacks_header = " open/x , ,b/shared", .body_fallbacks = body}));
  EXPECT_EQ(labels(route_), (std::vector<std::string>{"a/gpt-4o", "open/x", "b/shared"}));
}

TEST_F(RouteTableTest, NoneOptsOutOfEveryFallback) {
  std::vector<std::string> body{"b/claude-sonnet-4-5"};
  ASSERT_TRUE(route({.model = "smart", .fallbacks_header = "None", .body_fallbacks = body}));
  EXPECT_EQ(labels(route_), (std::vector<std::string>{"a/gpt-4o"}));
  EXPECT_FALSE(route({.model = "smart", .fallbacks_header = "none, b/shared"}));
}

TEST_F(RouteTableTest, UnknownFallbackIsA400NamingIt) {
  std::vector<std::string> body{"nope-model"};
  auto r = route({.model = "a/gpt-4o", .body_fallbacks = body});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_EQ(r.error().param, "fallbacks");
  EXPECT_NE(r.error().message.find("fallback 'nope-model' (fallbacks)"), std::string::npos) << r.error().message;
  std::vector<std::string> many(kMaxRequestFallbacks + 1, "b/shared");
  EXPECT_FALSE(route({.model = "a/gpt-4o", .body_fallbacks = many}));
}

TEST_F(RouteTableTest, PrimaryErrorsAreTheCatalogs) {
  auto unknown = route({.model = "gpt-4oo"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().http_status, 404);
  EXPECT_NE(unknown.error().message.find("did you mean"), std::string::npos);
  auto header = route({.model = "x", .provider_header = "zzz"});
  ASSERT_FALSE(header);
  EXPECT_EQ(header.error().code, "provider_not_found");
}

TEST_F(RouteTableTest, HeaderPinsOneProviderAndPassThroughGetsARequestDeployment) {
  ASSERT_TRUE(route({.model = "shared", .provider_header = "a"}));
  EXPECT_EQ(labels(route_), (std::vector<std::string>{"a/shared"}));
  ASSERT_TRUE(route({.model = "anything-new", .provider_header = "open"}));
  EXPECT_EQ(labels(route_), (std::vector<std::string>{"open/anything-new"}));
  ASSERT_TRUE(route({.model = "open"}));  // provider alone: its default model
  EXPECT_EQ(route_[0].upstream_model, "llama");
}

TEST_F(RouteTableTest, EqualPrioritiesAreOrderedByTheModelsStrategy) {
  auto a = provider("a", {"m"}, 1);
  auto b = provider("b", {"m"}, 1);
  build({a, b}, {}, BalanceStrategy::least_inflight);
  ASSERT_TRUE(route({.model = "m"}));
  stats_->begin_attempt(route_[0].slot);  // a is busy now
  ASSERT_TRUE(route({.model = "m"}));
  EXPECT_EQ(labels(route_), (std::vector<std::string>{"b/m", "a/m"}));
}

TEST(FallbacksHeader, Parses) {
  auto h = parse_fallbacks_header("a/x, b");
  ASSERT_TRUE(h);
  ASSERT_EQ(h->count, 2u);
  EXPECT_EQ(h->names[0], "a/x");
  EXPECT_EQ(h->names[1], "b");
  EXPECT_TRUE(parse_fallbacks_header(" NONE ")->none);
  EXPECT_FALSE(parse_fallbacks_header("a,b,c,d,e,f,g,h,i"));
}

}  // namespace
}  // namespace llmux::router
