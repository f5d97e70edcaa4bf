#include "config/config_internal.hpp"

namespace llmux::config_detail {

const char* auth_style_name(AuthStyle style) {
  switch (style) {
    case AuthStyle::bearer: return "bearer";
    case AuthStyle::header: return "api-key";
    case AuthStyle::basic: return "basic";
    case AuthStyle::none: return "none";
  }
  return "bearer";
}

bool is_sensitive_header(std::string_view name) {
  std::string lower = to_lower(name);
  for (const char* word : {"auth", "key", "token", "secret", "password", "cookie", "signature", "credential"})
    if (lower.find(word) != std::string::npos) return true;
  return false;
}

}  // namespace llmux::config_detail
