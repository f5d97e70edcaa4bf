// The logging: section's values (the loader reads the keys).
#include "config/config_internal.hpp"

namespace llmux::config_detail {

Expected<AccessLogConfig, std::string> parse_access_log_target(std::string_view text) {
  AccessLogConfig c;
  std::string lower = to_lower(text);
  if (lower == "off" || lower == "false" || lower == "none" || lower.empty()) return c;
  if (lower == "stderr" || lower == "on" || lower == "true") {
    c.target = AccessLogConfig::Target::stderr_stream;
    return c;
  }
  if (has_control_chars(text)) return unexpected(std::string("access_log path must not contain control characters"));
  if (text.front() != '/' && !text.starts_with("./") && !text.starts_with("../"))
    return unexpected("access_log must be stderr, off or a file path (absolute, or starting with ./), got \"" +
                      std::string(text) + "\"");
  c.target = AccessLogConfig::Target::file;
  c.path = std::string(text);
  return c;
}

}  // namespace llmux::config_detail
