// Who may use the admin API (/api/* and /ui). With an admin key (admin_key / LLMUX_ADMIN_KEY) a
// request must present it (Authorization: Bearer KEY, compared in constant time) and the gateway
// keys do not open the admin API. Without one the admin API is open as /api/* always was (the
// gateway keys, if any, are checked) when the gateway listens on loopback only, and off (403
// admin_disabled) otherwise: an unauthenticated API that rewrites providers must not face a network.
//
// Thread-safety: plain functions of their arguments.
#pragma once

#include <string>
#include <string_view>

#include "llmux/config.hpp"
#include "llmux/error.hpp"

namespace llmux::admin {

enum class AdminGate {
  key,       // an admin key is set: it is required
  loopback,  // no admin key, loopback listener: open as before (gateway keys if configured)
  disabled,  // no admin key, reachable from the network: refused
};
AdminGate admin_gate(const GatewayConfig& config);

struct AdminCheck {
  enum class Outcome {
    admitted,      // the admin key was presented
    gateway_keys,  // AdminGate::loopback: the gateway key check decides, as on /v1
    refused,       // `error` is the answer
  };
  Outcome outcome = Outcome::refused;
  std::string admin_id;  // for the audit log; never the key ("admin-key …a1b2", "loopback")
  Error error;
};

// The check of one /api/* or /ui request with this Authorization header value.
AdminCheck check_admin(const GatewayConfig& config, std::string_view authorization);

// Equal bytes, in time independent of where they differ and of either length (both are hashed
// with SHA-256 first, then compared with CRYPTO_memcmp).
bool constant_time_equals(std::string_view a, std::string_view b);

// "admin-key …a1b2": the audit log's name for a key, its last four characters when it is long
// enough for them not to weaken it (12 or more), else nothing of it.
std::string admin_key_id(std::string_view prefix, std::string_view key);

// What `llmux serve` prints at start about the admin API.
std::string admin_start_line(const GatewayConfig& config);

}  // namespace llmux::admin
