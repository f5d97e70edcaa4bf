// The provider keys that say which inbound APIs beyond chat a provider serves as itself
// (`responses:`). Shared by the loader only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "llmux/config.hpp"
#include "llmux/expected.hpp"

namespace llmux::config_detail {

// Why `responses:` cannot be set on a provider of `type` (nullopt: it can): the Responses API
// passes through as bytes, so only providers that speak OpenAI's wire format may serve it.
std::optional<std::string> responses_setting_problem(std::string_view type);

// `http_version:` read ("1.1", "1", "2", "http/2", ...); the error says what is accepted.
Expected<HttpVersion, std::string> parse_http_version(std::string_view text);
// Why this provider cannot have that version (nullopt: it can): HTTP/2 is negotiated by TLS
// (ALPN), so it needs an https:// base_url.
std::optional<std::string> http_version_problem(const ProviderConfig& provider);

}  // namespace llmux::config_detail
