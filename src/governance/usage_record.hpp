// What the request path hands the ledger when a request ends: the facts of one finished request,
// turned into a ledger row (cost included) off the hot part of the path.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "governance/cost.hpp"
#include "governance/key_policy.hpp"
#include "storage/ledger.hpp"

namespace llmux::governance {

struct FinishedRequest {
  const KeyPolicy* key = nullptr;         // the gateway key it came with; null: none
  std::string_view request_id;
  std::string_view provider;              // empty: no provider was tried
  const ModelConfig* model = nullptr;     // the configured model that answered, if listed
  std::string_view upstream_model;
  std::string_view model_requested;
  json::Usage usage;                      // as reported (usage.reported false: none)
  EstimateBasis estimate_basis;           // used only when no usage was reported
  std::chrono::steady_clock::duration latency{};
  std::optional<std::chrono::steady_clock::duration> first_token;
  int status = 0;
  std::string_view error_type;
  int attempts = 0;
};

storage::UsageRow usage_row(const FinishedRequest& request);

// The cost of an answer as the x-llmux-cost-usd header line ("x-llmux-cost-usd: 0.00042\r\n").
void append_cost_header(std::string& headers, const Cost& cost);

}  // namespace llmux::governance
