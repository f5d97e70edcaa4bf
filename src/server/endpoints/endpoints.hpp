// The answers of the gateway's own endpoints (everything but the completion exchange), as plain
// functions of the state they read. Thread-safe: they only read shared, immutable or atomic state.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "llmux/error.hpp"
#include "llmux/expected.hpp"
#include "providers/provider.hpp"
#include "server/gateway_state.hpp"
#include "server/server.hpp"

namespace llmux::server {

class Connection;

struct Answer {
  int status = 200;
  std::string_view content_type = "application/json";
  std::string body;
};

// /healthz and /readyz.
Answer health_answer(bool ready_check, bool draining);
// GET /metrics: the request metrics plus the connection gauges.
std::string metrics_text(Server::Impl& server);
// GET /v1/models/{id}; `encoded_id` as it appears in the path. A model the key may not use is a 403.
Expected<std::string, Error> model_json(const GatewayState& state, std::string_view encoded_id,
                                        const governance::KeyPolicy* key = nullptr);
// GET /v1/models for a key restricted to some models: only those.
std::string models_json_for(const GatewayState& state, const governance::KeyPolicy& key);
// GET /api/providers/health: every watched provider's health.
std::string providers_health_json(const GatewayState& state);
// GET /api/providers: every provider with its settings, health and deployments' breakers.
std::string providers_json(const GatewayState& state);
// GET /api/providers/{name}/metrics (provider_metrics.cpp); `encoded_name` as in the path.
Expected<std::string, Error> provider_metrics_answer(const GatewayState& state, std::string_view encoded_name);
// The completion endpoint a path names, if any.
std::optional<providers::Endpoint> completion_endpoint(std::string_view path);

Error method_not_allowed(const char* allowed);

// Answers with `error` in the OpenAI shape (plus its Retry-After) and logs the rejection.
void answer_error(Connection& connection, const Error& error, std::string_view request_id,
                  std::string_view headers);
// The same with the body in the client's own shape (an inbound dialect's, such as Anthropic's).
void answer_error(Connection& connection, const Error& error, std::string_view request_id,
                  std::string_view headers, std::string_view body);
bool is_loopback_host(std::string_view host);

}  // namespace llmux::server
