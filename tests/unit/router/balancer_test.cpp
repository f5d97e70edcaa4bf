#include "router/balancer.hpp"

#include <gtest/gtest.h>

#include <map>

#include "router_test_util.hpp"

namespace llmux::router {
namespace {

using namespace std::chrono_literals;

class BalancerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      deployments_[i].label = std::string(1, static_cast<char>('a' + i));
      deployments_[i].slot = static_cast<uint32_t>(i);
      deployments_[i].priority = 1;
    }
    deployments_[1].weight = 3;
  }
  std::vector<const Deployment*> group() { return {&deployments_[0], &deployments_[1], &deployments_[2]}; }
  std::string order(std::vector<const Deployment*> g) {
    std::string out;
    for (auto* d : g) out += d->label;
    return out;
  }
  Deployment deployments_[3];
  DeploymentStats stats_{3};
};

TEST_F(BalancerTest, PriorityKeepsTheConfiguredOrder) {
  auto g = group();
  test::ScriptedRandom random;
  order_group(g, BalanceStrategy::priority, stats_, random);
  EXPECT_EQ(order(g), "abc");
}

TEST_F(BalancerTest, WeightedPicksInProportionToWeight) {
  // Weights 1, 3, 1 (total 5): fractions map to a in [0, .2), b in [.2, .8), c in [.8, 1).
  for (auto [fraction, first] : {std::pair{0.1, 'a'}, {0.5, 'b'}, {0.9, 'c'}}) {
    auto g = group();
    test::ScriptedRandom random({fraction, 0.0});
    order_group(g, BalanceStrategy::weighted, stats_, random);
    EXPECT_EQ(order(g)[0], first) << fraction;
  }
  SplitMixRandom random(42);
  std::map<char, int> firsts;
  for (int i = 0; i < 5000; ++i) {
    auto g = group();
    order_group(g, BalanceStrategy::weighted, stats_, random);
    ++firsts[g[0]->label[0]];
    EXPECT_EQ(g.size(), 3u);
  }
  EXPECT_NEAR(firsts['b'] / 5000.0, 0.6, 0.03);
  EXPECT_NEAR(firsts['a'] / 5000.0, 0.2, 0.03);
}

TEST_F(BalancerTest, LeastInflightFirstTiesInOrder) {
  stats_.begin_attempt(0);
  stats_.begin_attempt(0);
  stats_.begin_attempt(2);
  auto g = group();
  test::ScriptedRandom random;
  order_group(g, BalanceStrategy::least_inflight, stats_, random);
  EXPECT_EQ(order(g), "bca");
  stats_.end_attempt(0);
  stats_.end_attempt(0);
  g = group();
  order_group(g, BalanceStrategy::least_inflight, stats_, random);
  EXPECT_EQ(order(g), "abc");
}

TEST_F(BalancerTest, LowestLatencyUsesTheEwmaAndMeasuresTheUnmeasured) {
  stats_.record_first_token(0, 800ms);
  stats_.record_first_token(1, 200ms);
  auto g = group();
  test::ScriptedRandom random;
  order_group(g, BalanceStrategy::lowest_latency, stats_, random);
  EXPECT_EQ(order(g), "cba");  // c has no sample yet
  stats_.record_first_token(1, 1800ms);  // EWMA 1/8: 200 + (1800 - 200) / 8 = 400ms
  EXPECT_EQ(stats_.ttft_ewma(1), 400ms);
}

TEST_F(BalancerTest, ChainsAreBalancedWithinEachPriority) {
  deployments_[2].priority = 2;
  stats_.begin_attempt(0);
  auto g = group();
  test::ScriptedRandom random;
  order_chain(g, BalanceStrategy::least_inflight, stats_, random);
  EXPECT_EQ(order(g), "bac");
}

}  // namespace
}  // namespace llmux::router
