// The admin API's key in the config (`admin_key` / `adminKey`). Read here, apart from the loader.
#pragma once

#include <optional>
#include <string>

#include "llmux/config.hpp"

namespace llmux::config_detail {

// Sets config.admin_auth from the value written (after ${VAR} expansion). An empty value means
// no admin key, so `admin_key: ${LLMUX_ADMIN:-}` may name an optional one. Returns what is wrong
// with the value, if anything.
std::optional<std::string> set_admin_key(GatewayConfig& config, std::string value);

}  // namespace llmux::config_detail
