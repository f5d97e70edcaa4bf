// Who a request is, as far as governance cares: the gateway key it came with and what that key
// may do. The authentication stage resolves the request's key to one of these (a config key —
// master_key, api_keys[N] — or a virtual key from the key store) and the request holds it for its
// life; the rate limiter, the budgets and the ledger read it.
//
// Thread-safety: immutable once published; shared read-only (std::shared_ptr<const KeyPolicy>)
// by any number of requests on any thread. A change to a key publishes a new object.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "llmux/config.hpp"

namespace llmux::governance {

// RateLimits and BudgetLimits are declared with the config (llmux/config.hpp).

struct KeyPolicy {
  std::string id;    // stable and never secret: "master_key", "api_keys[2]", or a virtual key's id
  std::string name;  // what the operator called it (the ledger's key column); may equal id
  RateLimits limits;
  BudgetLimits budget;
  std::vector<std::string> models;  // models the key may use; empty = all
  int64_t expires_at_ms = 0;        // Unix ms; 0 = never
  bool revoked = false;
  // A virtual key is a team's key for the model API (/v1): it cannot read the operator's /api
  // (every team's usage, the providers) nor /metrics. Config keys are the operator's.
  bool virtual_key = false;
};

}  // namespace llmux::governance
