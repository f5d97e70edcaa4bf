// The provider keys that say which inbound APIs beyond chat a provider serves as itself
// (`responses:`), how it is spoken to (`http_version:`) and which request fields its adapter
// leaves out (`drop_params:`). Shared by the loader only.
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

// Why `name` cannot be in drop_params (nullopt: it can): it is not one of kDroppableParams.
std::optional<std::string> drop_param_problem(std::string_view name);
// Why a provider of `type` cannot have drop_params (nullopt: it can): pass-through adapters
// send the client's body as it is.
std::optional<std::string> drop_params_type_problem(std::string_view type);

}  // namespace llmux::config_detail
