// Configuration structs and the loader. Plain values: a GatewayConfig is built once, then shared
// read-only (immutable after load, so safe to read from any thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmux/expected.hpp"
#include "llmux/secret.hpp"

namespace llmux {

enum class AuthStyle {
  bearer,  // Authorization: Bearer KEY (or KEY as-is when it already carries "Bearer "/"Basic ")
  header,  // KEY in a named header (auth_header), e.g. X-API-Key or api-key
  basic,   // Authorization: Basic base64(KEY) unless KEY already carries a scheme
  none,    // no credential sent
};

// A model's token prices in integer micro-USD per 1M tokens (= pico-USD per token), exact for
// every published price; see governance/prices.hpp. Config spellings and their units: README
// "Prices and units". An unset optional price is the base price of its side: cached input and
// cache writes cost what input costs, reasoning what output costs.
struct ModelPrices {
  int64_t input = 0;
  int64_t output = 0;
  std::optional<int64_t> cached_input;
  std::optional<int64_t> cache_write;
  std::optional<int64_t> reasoning;

  bool any() const noexcept { return input || output || cached_input || cache_write || reasoning; }
};

struct ModelConfig {
  std::string id;           // what clients ask for
  std::string upstream_id;  // what the provider is sent; defaults to id
  std::string name;         // display name
  std::vector<std::string> aliases;
  std::optional<int64_t> context_window;
  ModelPrices prices;
};

struct HeaderConfig {
  std::string name;
  std::string value;  // may hold the {api_key} placeholder
};

struct SourceLocation {
  std::string file;
  int line = 0;  // 1-based; 0 = unknown (e.g. built in code)
  std::string key_path;  // e.g. providers.together or providers[0]; empty = built in code
};

// Per-attempt limits of one provider. Unset fields fall back to `ProviderConfig::timeout` (headers,
// idle) or to the built-in connect limit; see router/timeouts.hpp for how they combine.
struct ProviderTimeouts {
  std::optional<std::chrono::milliseconds> connect;      // TCP + TLS
  std::optional<std::chrono::milliseconds> headers;      // request sent -> response headers
  std::optional<std::chrono::milliseconds> first_token;  // headers -> first content event
  std::optional<std::chrono::milliseconds> idle;         // between two body reads / stream events
  std::optional<std::chrono::milliseconds> total;        // the whole attempt
};

// --- Rate limits and budgets (README "Rate limits and budgets"; parsed in
// config/governance_keys.cpp). governance::KeyPolicy carries the same two structs for a key.
namespace governance {

// 0 = no limit.
struct RateLimits {
  uint32_t rpm = 0;         // requests per minute
  uint32_t rph = 0;         // requests per hour
  uint32_t tpm = 0;         // tokens (input + output) per minute
  uint32_t concurrent = 0;  // requests in flight
  bool any() const noexcept { return rpm || rph || tpm || concurrent; }
};

// Amounts in micro-USD; 0 = no cap for that period.
struct BudgetLimits {
  int64_t daily_micro_usd = 0;
  int64_t monthly_micro_usd = 0;
  double alert_threshold = 0;  // 0–1 of a cap; 0 = no alert
  bool any() const noexcept { return daily_micro_usd || monthly_micro_usd; }
};

}  // namespace governance

// A provider's `rateLimit:` and `budget:`.
struct ProviderGovernance {
  governance::RateLimits limits;
  governance::BudgetLimits budget;
};

// What an `api_keys` entry of the object form adds to its key; all zero for the plain form.
struct ApiKeySettings {
  std::string name;  // empty: the key's id (api_keys[N])
  governance::RateLimits limits;
  governance::BudgetLimits budget;
};
// --- end of rate limits and budgets

// ---- Inbound APIs a provider serves as itself: `responses:` (src/config/provider_apis.cpp) ----
struct ProviderApis {
  // `responses: true|false`: whether POST /v1/responses passes through to this provider. Unset:
  // azure-openai and an openai-compatible provider at api.openai.com (the `openai` preset) do.
  std::optional<bool> responses;
};

// `http_version: "1.1" | "2"`: the protocol spoken to an https upstream. "1.1": a pool of
// keep-alive connections on llmux's own engine; "2": multiplexed streams over few connections
// (curl). Unset: the default of the provider's type (default_http_version; README "HTTP/2").
enum class HttpVersion { unset, http1_1, http2 };

// ---- Upstream TLS: a provider's `security:` and `tls:` keys (src/config/tls_keys.cpp) ----
enum class TlsVersion { unset, tls1_2, tls1_3 };  // unset: OpenSSL's default minimum (TLS 1.2)

struct ProviderTlsConfig {
  TlsVersion min_version = TlsVersion::unset;  // security.tlsVersion
  bool verify = true;                          // security.certificateValidation
  bool allow_insecure = false;                 // security.allowInsecure: the only way verify may be off
  std::string ca_file;      // tls.ca_file: trusted CAs (PEM) instead of the system store
  std::string client_cert;  // tls.client_cert: PEM chain for mutual TLS
  std::string client_key;   // tls.client_key: its private key (PEM)
  std::string server_name;  // tls.server_name: SNI and the name verified, instead of the URL's host
};
// ---- end upstream TLS ----

// ---- AWS credentials of an aws-bedrock provider (src/config/aws_keys.cpp) ----
// What the config gives; what it leaves out comes from the standard AWS environment variables and
// the ~/.aws/credentials profile when the provider is created (providers/bedrock/credentials).
struct ProviderAwsConfig {
  std::string region;             // region: "us-east-1"
  std::string access_key_id;      // accessKeyId (not secret by AWS's rules, but never logged whole)
  Secret secret_access_key;       // secretAccessKey
  Secret session_token;           // sessionToken: temporary credentials
  std::string profile;            // profile: the ~/.aws/credentials section (AWS_PROFILE, "default")
};
// ---- end AWS credentials ----
// ---- Vertex AI: a vertex-ai provider's projectId, region, serviceAccountKey, publisher
// (src/config/vertex_keys.cpp; README "vertex-ai") ----
struct ProviderVertexConfig {
  std::string project_id;
  std::string region;               // "us-central1", … or "global" (host aiplatform.googleapis.com)
  std::string service_account_key;  // path of the service-account JSON key file, read when the provider starts
  // "google" or "anthropic" for every model; empty: by model id (claude… → anthropic, else google).
  std::string publisher;
};
// ---- end Vertex AI ----

// The request fields drop_params may name: those a translating adapter refuses (or maps) for
// want of a setting of the provider's. Pass-through adapters send every field as it is.
inline constexpr std::string_view kDroppableParams[] = {
    "user",       "safety_identifier", "metadata",         "service_tier", "store",
    "modalities", "web_search_options", "prompt_cache_key", "verbosity",   "audio",
    "prediction", "stream_options",    "logit_bias",       "top_logprobs", "seed",
    "presence_penalty", "frequency_penalty"};

struct ProviderConfig {
  std::string id;
  std::string name;
  std::string type = "openai-compatible";
  std::string base_url;  // normalised: no trailing slash, API version segment present (…/v1)
  Secret api_key;
  AuthStyle auth = AuthStyle::bearer;
  std::string auth_header = "Authorization";  // for AuthStyle::header
  std::vector<HeaderConfig> headers;
  std::vector<ModelConfig> models;
  std::string default_model;
  std::string default_params_json;  // a JSON object text ("{...}") or empty
  // drop_params: request fields a translating adapter leaves out instead of answering 400 (SDKs
  // that always send user or metadata); each one of kDroppableParams.
  std::vector<std::string> drop_params;
  bool enabled = true;
  int priority = 0;  // lower is preferred
  std::chrono::milliseconds timeout{60000};
  int max_retries = 2;  // retries on the same deployment before moving down the chain
  ProviderTimeouts timeouts;
  // `resume: prefill`: a stream of this provider that broke after its first byte may be continued
  // here with a trailing assistant message holding the text already sent.
  bool resume_prefill = false;
  ProviderGovernance governance;  // rateLimit, budget
  std::string api_version;  // azure-openai: a dated version ("2024-10-21") or "v1"; empty = v1
  ProviderTlsConfig tls;
  ProviderApis apis;
  HttpVersion http_version = HttpVersion::unset;
  ProviderAwsConfig aws;  // type aws-bedrock
  ProviderVertexConfig vertex;  // type vertex-ai
  SourceLocation source;
};

// Whether POST /v1/responses passes through to the provider (ProviderApis::responses).
bool serves_responses(const ProviderConfig& provider);
// The protocol llmux speaks to the provider: its http_version, or its type's measured default.
HttpVersion effective_http_version(const ProviderConfig& provider);

// How a model's deployments of equal priority share the load.
enum class BalanceStrategy { priority, weighted, least_inflight, lowest_latency };

// One place a model can be served: a provider and the model id it is sent.
struct DeploymentConfig {
  std::string provider;
  std::string model;  // a model id (or alias) of that provider, or any id for a pass-through provider
  int priority = 1;   // 1 = tried first
  int weight = 1;     // for BalanceStrategy::weighted
  std::optional<bool> resume_prefill;  // `resume: prefill` on the entry; unset: the provider's
};

// models: { NAME: {...} }: a model name clients ask for and where it is served. Without
// deployments, the entry only adds settings (strategy, context_fallbacks) to the chain the
// providers' model lists form for NAME.
struct ModelRouteConfig {
  std::string name;
  std::vector<std::string> aliases;
  std::vector<DeploymentConfig> deployments;
  std::optional<BalanceStrategy> strategy;  // unset: router.strategy
  // Model names (any a client could ask for) tried first when a deployment answers
  // context_length_exceeded.
  std::vector<std::string> context_fallbacks;
  // A content-policy rejection is normally the answer; true moves on to the next deployment.
  bool content_policy_fallback = false;
};

struct BreakerConfig {
  int consecutive_failures = 5;   // open after this many failures in a row
  double error_rate = 0.5;        // ... or when this share of the window's attempts failed
  int min_requests = 20;          // ... with at least this many attempts in the window
  std::chrono::milliseconds window{30000};
  std::chrono::milliseconds cooldown{30000};  // open at least this long (and the Retry-After seen)
};

struct HealthConfig {
  std::chrono::milliseconds interval{30000};  // between two probes of one provider; 0 = no probes
  std::chrono::milliseconds window{3600000};  // uptime percentage and error rate over this span
  std::string path;  // probe path under the base URL; empty = the model listing
  std::chrono::milliseconds degraded_latency{5000};  // a probe slower than this is "degraded"
  std::chrono::milliseconds timeout{10000};  // a probe without an answer by then failed
};

struct RouterConfig {
  int max_attempts = 6;  // per request, all deployments together
  std::chrono::milliseconds max_retry_wait{10000};  // a longer Retry-After falls back at once
  std::chrono::milliseconds backoff_base{100};      // full jitter: rand(0, min(cap, base * 2^n))
  std::chrono::milliseconds backoff_cap{2000};
  // Deadline of the whole request (all attempts and waits); 0 = none. x-llmux-timeout may
  // shorten it, never lengthen it past max_request_timeout.
  std::chrono::milliseconds total_timeout{600000};
  std::chrono::milliseconds max_request_timeout{600000};  // upper bound for x-llmux-timeout
  int max_resumes = 2;  // stream resumes (resume: prefill) per request
  BalanceStrategy strategy = BalanceStrategy::priority;
  BreakerConfig breaker;
  HealthConfig health;
};

struct AlertsConfig {
  std::string webhook;  // health state changes are POSTed here as JSON; empty = off
};

// The usage ledger (STATE_DIR/usage.db). Off, nothing is recorded and /api/usage reports only the
// per-provider totals since start.
struct LedgerConfig {
  bool enabled = true;
};

// Browser access (off while `origins` is empty). "*" allows any origin.
struct CorsConfig {
  std::vector<std::string> origins;
  std::string headers = "authorization, content-type, x-request-id, x-llmux-provider";  // allowed request headers
  std::chrono::seconds max_age{600};
};

// HTTPS for clients (server.tls; off while no certificate is set). The certificate and key are
// read again on every config reload and when either file changes: new connections get the new
// pair, open ones keep theirs. Turning TLS on or off takes a restart.
struct ServerTlsConfig {
  enum class MinVersion { tls1_2, tls1_3 };
  std::string cert_file;  // PEM: the certificate, then any intermediates
  std::string key_file;   // PEM private key matching the certificate
  MinVersion min_version = MinVersion::tls1_2;
  bool enabled() const noexcept { return !cert_file.empty() || !key_file.empty(); }
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 4000;
  int threads = 0;                            // 0 = one per core
  uint64_t max_body_bytes = 10ull << 20;      // 413 above this
  std::chrono::milliseconds shutdown_grace{10000};
  // A client connection that has not delivered a complete request within this time is closed
  // (idle keep-alive connections and slow senders alike).
  std::chrono::milliseconds idle_timeout{60000};
  // A client whose answer makes no progress (it stopped reading) for this long is disconnected.
  std::chrono::milliseconds write_timeout{30000};
  int64_t max_connections = 0;  // client connections; 0 = derived from the file-descriptor limit
  // A buffered (non-stream) upstream response body larger than this fails with 502.
  static constexpr uint64_t kDefaultMaxResponseBytes = 64ull << 20;
  uint64_t max_response_bytes = kDefaultMaxResponseBytes;
  // A pooled keep-alive upstream connection unused for this long is closed (0: none are kept).
  static constexpr std::chrono::milliseconds kDefaultUpstreamIdleTimeout{30000};
  std::chrono::milliseconds upstream_idle_timeout = kDefaultUpstreamIdleTimeout;
  CorsConfig cors;
  ServerTlsConfig tls;
};

struct MetricsConfig {
  // GET /metrics without a gateway key. Unset: only when the gateway listens on loopback.
  std::optional<bool> public_access;
};

// --- logging: the access log (one JSON line per request) -------------------------------------
struct AccessLogConfig {
  enum class Target { off, stderr_stream, file };
  Target target = Target::off;
  std::string path;  // Target::file
  bool operator==(const AccessLogConfig&) const = default;
};
struct LoggingConfig {
  AccessLogConfig access_log;
};
// --- end of logging ----------------------------------------------------------------------------

// --- Upstream guard (SSRF): admin.allowed_upstreams, admin.allow_private (src/config/upstream_policy.cpp,
// README "Upstream guard (SSRF)") -----------------------------------------------------------------
struct UpstreamGuardConfig {
  // Loopback and private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) may be
  // upstreams: local model servers (Ollama, vLLM) live there. Metadata and link-local never are.
  bool allow_private = true;
  // Host names and CIDRs allowed whatever their address class, e.g. "localhost", "10.0.0.0/8".
  std::vector<std::string> allowed_upstreams;
};
// --- end of upstream guard ---------------------------------------------------------------------

// --- admin API authentication (README "Admin API") ------------------------------------------
// The key that opens /api/* and /ui: `admin_key` (or adminKey) in the config, or LLMUX_ADMIN_KEY
// (which wins). Distinct from the gateway keys: when it is set they no longer open /api/*.
struct AdminAuthConfig {
  std::optional<Secret> key;
  std::string key_source;  // "admin_key" (the config) or "LLMUX_ADMIN_KEY"; empty: no key
};
struct GatewayConfig;
// LLMUX_ADMIN_KEY, when set and not empty, replaces the config's admin_key (src/config/admin_keys.cpp).
void apply_admin_key_env(GatewayConfig& config);
// --- end of admin API authentication ----------------------------------------------------------

struct GatewayConfig {
  ServerConfig server;
  MetricsConfig metrics;
  std::vector<ProviderConfig> providers;
  std::vector<ModelRouteConfig> models;  // the top-level models: section
  RouterConfig router;
  AlertsConfig alerts;
  LedgerConfig ledger;
  LoggingConfig logging;
  UpstreamGuardConfig upstream_guard;  // admin.allow_private, admin.allowed_upstreams
  AdminAuthConfig admin_auth;
  std::optional<Secret> master_key;
  std::vector<Secret> api_keys;
  std::vector<ApiKeySettings> api_key_settings;  // one per api_keys entry, in the same order
  std::string state_dir;  // empty = XDG default
  std::string source_file;
};

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based, 0 = unknown
  int column = 0;  // 1-based, 0 = unknown
  std::string key_path;  // e.g. providers.together.timeout
  std::string message;
};

// "file:line:column: key_path: message"
std::string format_config_error(const ConfigError& error);

using ConfigErrors = std::vector<ConfigError>;

// Loads YAML or JSON (JSON is read as YAML, so both get line numbers). Accepts the map style
// (providers: {id: {...}}) and the list style ([{id: ...}] or providers: [...]), snake_case and
// camelCase keys. Expands ${VAR} and ${VAR:-default} in string values. Reports every error found.
Expected<GatewayConfig, ConfigErrors> load_config_file(const std::string& path);
Expected<GatewayConfig, ConfigErrors> load_config_text(const std::string& text,
                                                       const std::string& file_name);

// Checks cross-references: unique ids, default_model among models, valid URLs.
ConfigErrors validate_config(const GatewayConfig& config);

// "500ms", "60s", "2m", "1h", or a bare number of milliseconds.
Expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text);

// ${VAR} / ${VAR:-default}; "$${" is a literal "${". Error names the missing variable.
Expected<std::string, std::string> expand_env(std::string_view text);

// Normalises a provider base URL: requires http(s)://host, strips trailing slashes, appends /v1
// when the path is empty. Any other path is kept as given (…/v1beta/openai, /openai/v1).
Expected<std::string, std::string> normalize_base_url(std::string_view url);

}  // namespace llmux
