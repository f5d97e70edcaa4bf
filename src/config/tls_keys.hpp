// A provider's upstream TLS settings: the seeds' `security: {tlsVersion, certificateValidation,
// allowInsecure}` and llmux's `tls: {ca_file, client_cert, client_key, server_name}`.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "llmux/config.hpp"

namespace llmux::config_detail {

enum class TlsKeyGroup { security, tls };

// Reports a problem at `at`; `key` is the key as written inside the group ("" = the group itself).
using TlsKeyReport = std::function<void(const YAML::Node& at, std::string_view key, std::string message)>;

// Reads one group's mapping into `out`; every problem (unknown key, wrong type, a bad version,
// certificateValidation: false without allowInsecure: true) goes to `report`.
void load_tls_keys(const YAML::Node& group, TlsKeyGroup which, ProviderTlsConfig& out, const TlsKeyReport& report);

// "1.2", "1.3", "TLSv1.3", "tls1.2": the minimum TLS version.
Expected<TlsVersion, std::string> parse_tls_version(std::string_view text);

}  // namespace llmux::config_detail
