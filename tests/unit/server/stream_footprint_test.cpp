// Issue 12 (memory per open stream): the objects made for every open stream stay within their
// budgets. Budgets, not exact sizes: a member that pushes one past its budget costs every open
// stream that much, and belongs behind a pointer (HeapOptional) or in per-thread scratch.
#include <cstdio>

#include <gtest/gtest.h>

#include "router/attempt_planner.hpp"
#include "server/completion_exchange.hpp"
#include "server/gateway_handler.hpp"

namespace llmux::server {
namespace {

TEST(StreamFootprint, ThePerStreamObjectsStayWithinTheirBudgets) {
  std::printf("[ footprint ] CompletionExchange %zu B, AttemptPlanner %zu B, GatewayHandler %zu B, "
              "ExchangeScratch::Buffers %zu B, StreamFramer %zu B\n",
              sizeof(CompletionExchange), sizeof(router::AttemptPlanner), sizeof(GatewayHandler),
              sizeof(ExchangeScratch::Buffers), sizeof(StreamFramer));
  // On main before issue 12: planner 1,608 B, exchange 3,896 B, handler 1,120 B and more.
  EXPECT_LE(sizeof(router::AttemptPlanner), 448u);
  EXPECT_LE(sizeof(CompletionExchange), 2048u);
  EXPECT_LE(sizeof(GatewayHandler), 1152u);
}

}  // namespace
}  // namespace llmux::server
