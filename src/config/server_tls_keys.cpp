#include "config/server_tls_keys.hpp"

#include "core/text.hpp"

namespace llmux::config_detail {

namespace {

// "1.2", "1.3", and the spellings other servers use for the same: "TLSv1.3", "tls1.3", "TLS 1.3".
std::optional<ServerTlsConfig::MinVersion> parse_min_version(std::string_view text) {
  std::string lower = to_lower(text);
  std::string_view v = lower;
  for (std::string_view prefix : {"tlsv", "tls ", "tls"})
    if (v.substr(0, prefix.size()) == prefix) {
      v.remove_prefix(prefix.size());
      break;
    }
  if (v == "1.2") return ServerTlsConfig::MinVersion::tls1_2;
  if (v == "1.3") return ServerTlsConfig::MinVersion::tls1_3;
  return std::nullopt;
}

}  // namespace

std::string set_server_tls_key(std::string_view canonical_key, std::string value, ServerTlsConfig& tls) {
  if (canonical_key == "min_version") {
    auto version = parse_min_version(value);
    if (!version) return "expected \"1.2\" or \"1.3\", got \"" + value + "\"";
    tls.min_version = *version;
    return {};
  }
  if (value.empty()) return "expected a file path";
  (canonical_key == "cert" ? tls.cert_file : tls.key_file) = std::move(value);
  return {};
}

std::string incomplete_server_tls(const ServerTlsConfig& tls) {
  if (!tls.cert_file.empty() && tls.key_file.empty()) return "a certificate needs its private key (key: FILE)";
  if (tls.cert_file.empty() && !tls.key_file.empty()) return "a private key needs its certificate (cert: FILE)";
  return {};
}

}  // namespace llmux::config_detail
