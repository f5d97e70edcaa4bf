// The keys each place of a config file accepts, and what to say about a key a place does not
// know (the key probably meant, or where a key of that name belongs). Shared by the loader only.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace llmux::config_detail {

// A key with case, '_' and '-' ignored: how the loader and the store match what a user may have
// meant (apiKey, api_key, api-key).
std::string fold(std::string_view key);

struct KeySpec {
  std::string_view name;                      // canonical snake_case spelling
  std::array<std::string_view, 2> aliases{};  // other names for the same setting
};

// camelCase spellings of all of these are accepted too (see to_snake).
inline constexpr KeySpec kTopKeys[] = {
    {"providers"}, {"server"}, {"master_key"}, {"api_keys"}, {"state_dir"}, {"metrics"},
    {"models"}, {"router"}, {"alerts"}, {"ledger"}, {"logging"}, {"admin_key"}, {"admin"}};
inline constexpr KeySpec kServerKeys[] = {
    {"host"}, {"port"}, {"threads"}, {"max_body_size", {"max_body_bytes"}}, {"shutdown_grace"}, {"idle_timeout"},
    {"write_timeout"}, {"max_connections"}, {"cors"}, {"max_response_size", {"max_response_bytes"}},
    {"upstream_idle_timeout"}, {"tls"}};
inline constexpr KeySpec kCorsKeys[] = {{"origins"}, {"headers"}, {"max_age"}};
inline constexpr KeySpec kMetricsKeys[] = {{"public"}};
inline constexpr KeySpec kProviderKeys[] = {
    {"id"}, {"name"}, {"type"}, {"base_url", {"api_base"}}, {"api_key"},
    {"auth_type", {"auth"}}, {"auth_header"}, {"headers", {"custom_headers"}}, {"models"},
    {"default_model"}, {"default_params"}, {"drop_params"}, {"enabled"}, {"priority"}, {"timeout"},
    {"max_retries"}, {"timeouts"}, {"resume"}, {"rate_limit"}, {"budget"}, {"api_version"}, {"security"}, {"tls"},
    {"responses"}, {"http_version"},
    {"region", {"location"}}, {"access_key_id"}, {"secret_access_key"}, {"session_token"}, {"profile"},
    {"project_id"}, {"service_account_key", {"credentials_file", "key_file"}}, {"publisher"}};
inline constexpr KeySpec kTimeoutKeys[] = {{"connect"}, {"headers"}, {"first_token"}, {"idle"}, {"total"}};
inline constexpr KeySpec kRouteKeys[] = {
    {"aliases"}, {"deployments"}, {"strategy"}, {"context_fallbacks"}, {"content_policy_fallback"}};
inline constexpr KeySpec kDeploymentKeys[] = {{"provider"}, {"model"}, {"priority"}, {"weight"}, {"resume"}};
inline constexpr KeySpec kRouterKeys[] = {
    {"max_attempts"}, {"max_retry_wait"}, {"backoff"}, {"total_timeout"}, {"max_request_timeout"},
    {"strategy"}, {"breaker", {"circuit_breaker"}}, {"health"}, {"max_resumes"}};
inline constexpr KeySpec kBackoffKeys[] = {{"base"}, {"cap"}};
inline constexpr KeySpec kBreakerKeys[] = {
    {"consecutive_failures"}, {"error_rate"}, {"min_requests"}, {"window"}, {"cooldown"}};
inline constexpr KeySpec kHealthKeys[] = {{"interval"}, {"window"}, {"path"}, {"degraded_latency"}, {"timeout"}};
inline constexpr KeySpec kAlertsKeys[] = {{"webhook"}};
inline constexpr KeySpec kLedgerKeys[] = {{"enabled"}};
inline constexpr KeySpec kLoggingKeys[] = {{"access_log"}};
inline constexpr KeySpec kModelKeys[] = {
    {"id"}, {"name"}, {"upstream_id", {"upstream", "deployment"}}, {"aliases"}, {"context_window"},
    {"pricing"}, {"input_price"}, {"output_price"}, {"input_per_mtok"}, {"output_per_mtok"},
    {"cached_input_per_mtok"}, {"cache_write_per_mtok"}, {"reasoning_per_mtok"}};
inline constexpr KeySpec kPricingKeys[] = {
    {"input"}, {"output"}, {"input_per_mtok"}, {"output_per_mtok"}, {"cached_input_per_mtok"},
    {"cache_write_per_mtok"}, {"reasoning_per_mtok"}};

// Where a mapping sits in the document. A key that belongs to another scope means something else
// there (a provider's api_key is an upstream credential, the top-level api_keys are the gateway's
// own), so an unknown key is never "corrected" to a key of another scope's meaning.
struct Scope {
  std::span<const KeySpec> keys;
  std::string_view kind;       // "a provider setting"
  std::string_view placement;  // "inside a provider (providers: {ID: {...}})"
  // Whether a key of this scope is offered when written somewhere else. Off for scopes whose
  // keys are common words (a deployment's "provider" is no hint for a top-level "provider").
  bool offered_elsewhere = true;
};

inline constexpr Scope kTopScope{kTopKeys, "a top-level setting", "at the top level of the file"};
inline constexpr Scope kServerScope{kServerKeys, "a server setting", "under server:"};
inline constexpr Scope kProviderScope{kProviderKeys, "a provider setting", "inside a provider (providers: {ID: {...}})"};
inline constexpr Scope kModelScope{kModelKeys, "a model setting", "inside a model entry (models: [{id: ..., ...}])"};
inline constexpr Scope kPricingScope{kPricingKeys, "a price", "under a model's pricing:"};
inline constexpr Scope kCorsScope{kCorsKeys, "a CORS setting", "under server.cors:"};
inline constexpr Scope kMetricsScope{kMetricsKeys, "a metrics setting", "under metrics:"};
inline constexpr Scope kTimeoutScope{kTimeoutKeys, "a provider timeout", "under a provider's timeouts:"};
inline constexpr Scope kRouteScope{kRouteKeys, "a routed model setting", "inside a routed model (models: {NAME: {...}})"};
inline constexpr Scope kDeploymentScope{kDeploymentKeys, "a deployment setting",
                                 "inside a deployment (models: {NAME: {deployments: [...]}})", false};
inline constexpr Scope kRouterScope{kRouterKeys, "a router setting", "under router:"};
inline constexpr Scope kBackoffScope{kBackoffKeys, "a backoff setting", "under router.backoff:"};
inline constexpr Scope kBreakerScope{kBreakerKeys, "a circuit breaker setting", "under router.breaker:"};
inline constexpr Scope kHealthScope{kHealthKeys, "a health check setting", "under router.health:"};
inline constexpr Scope kAlertsScope{kAlertsKeys, "an alerts setting", "under alerts:"};
inline constexpr Scope kLedgerScope{kLedgerKeys, "a usage ledger setting", "under ledger:"};
inline constexpr Scope kLoggingScope{kLoggingKeys, "a logging setting", "under logging:"};
inline constexpr const Scope* kScopes[] = {&kTopScope,     &kServerScope,     &kProviderScope, &kModelScope,
                                    &kPricingScope, &kCorsScope,       &kMetricsScope,  &kTimeoutScope,
                                    &kRouteScope,   &kDeploymentScope, &kRouterScope,   &kBackoffScope,
                                    &kBreakerScope, &kHealthScope,     &kAlertsScope,   &kLedgerScope,
                                    &kLoggingScope};

std::string to_snake(std::string_view key);
const KeySpec* find_spec(std::span<const KeySpec> specs, std::string_view key);

struct Suggestion {
  std::string display;  // in the user's style (camelCase if they used capitals)
  std::string_view canonical;
  const Scope* scope = nullptr;  // where that key belongs
  size_t distance = 0;
};

std::string unknown_key_message(std::string_view key, const Scope& scope, std::optional<Suggestion>& hint);

}  // namespace llmux::config_detail
