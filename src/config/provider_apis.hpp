// The provider keys that say which inbound APIs beyond chat a provider serves as itself
// (`responses:`). Shared by the loader only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llmux::config_detail {

// Why `responses:` cannot be set on a provider of `type` (nullopt: it can): the Responses API
// passes through as bytes, so only providers that speak OpenAI's wire format may serve it.
std::optional<std::string> responses_setting_problem(std::string_view type);

}  // namespace llmux::config_detail
