#include "config/admin_keys.hpp"

#include <cstdlib>

#include "config/config_internal.hpp"

namespace llmux {

namespace config_detail {

std::optional<std::string> set_admin_key(GatewayConfig& config, std::string value) {
  if (value.empty()) return std::nullopt;
  // It travels in an Authorization header: a control character or a space would never match.
  if (has_control_chars(value) || value.find(' ') != std::string::npos)
    return std::string("must not contain spaces or control characters");
  config.admin_auth.key = Secret(std::move(value));
  config.admin_auth.key_source = "admin_key";
  return std::nullopt;
}

}  // namespace config_detail

void apply_admin_key_env(GatewayConfig& config) {
  const char* env = std::getenv("LLMUX_ADMIN_KEY");
  if (!env || !*env) return;
  config.admin_auth.key = Secret(env);
  config.admin_auth.key_source = "LLMUX_ADMIN_KEY";
}

}  // namespace llmux
