// Helpers shared by the config loader and validate_config; not part of the public API.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.hpp"
#include "llmux/config.hpp"

namespace llmux::config_detail {

inline constexpr std::string_view kOpenAICompatible = "openai-compatible";
inline constexpr std::string_view kAnthropic = "anthropic";
inline constexpr std::string_view kAnthropicBaseUrl = "https://api.anthropic.com/v1";
inline constexpr std::string_view kAnthropicKeyHeader = "x-api-key";
inline constexpr std::string_view kGemini = "gemini";
inline constexpr std::string_view kAzureOpenAI = "azure-openai";
inline constexpr std::string_view kOllama = "ollama";  // the native API; Ollama's /v1 is openai-compatible
inline constexpr std::string_view kOllamaBaseUrl = "http://127.0.0.1:11434";
inline constexpr std::string_view kCohere = "cohere";
inline constexpr std::string_view kCohereBaseUrl = "https://api.cohere.com";
inline constexpr std::string_view kAwsBedrock = "aws-bedrock";
inline constexpr std::string_view kVertexAI = "vertex-ai";
inline constexpr std::string_view kGeminiBaseUrl = "https://generativelanguage.googleapis.com/v1beta";

// Number of bytes, or "10MiB", "512KiB", "1MB", "1GB", "100B" (KB/MB/GB are powers of 1000).
Expected<uint64_t, std::string> parse_byte_size(std::string_view text);

// Maps a provider type or one of its aliases (openai, ollama, groq, ...) to the canonical name.
Expected<std::string, std::string> normalize_provider_type(std::string_view type);

// "bearer", "api-key"/"header", "basic", "none".
Expected<AuthStyle, std::string> parse_auth_style(std::string_view text);

// A mapping whose keys (as written) include a provider setting and no top-level setting is one
// provider written alone, the way provider docs show them; it loads as a list of one.
bool is_single_provider(const std::vector<std::string>& keys);

bool is_valid_provider_id(std::string_view id);

// "priority", "weighted" (weighted-random, simple-shuffle), "least_inflight" (least-busy),
// "lowest_latency" (latency-based); '-' and '_' are the same.
Expected<BalanceStrategy, std::string> parse_balance_strategy(std::string_view text);

// The URL with any userinfo (user:password@) replaced by ****, for messages that echo a URL.
std::string without_credentials(std::string_view url);
bool is_header_token(std::string_view name);  // RFC 9110 token
bool has_control_chars(std::string_view text);

// How a provider's auth style and headers are shown (display_names.cpp): the auth_type a style
// is written as (bearer, api-key, basic, none), and whether a header's name says its value may
// be a credential (Authorization, X-API-Key, Cookie, ...), so that value is shown redacted.
const char* auth_style_name(AuthStyle style);
bool is_sensitive_header(std::string_view name);

// logging.access_log: "stderr", "off" (also "false", "none", ""), or a file path (logging.cpp).
Expected<AccessLogConfig, std::string> parse_access_log_target(std::string_view text);

using llmux::edit_distance;
using llmux::iequals;
using llmux::to_lower;

}  // namespace llmux::config_detail
