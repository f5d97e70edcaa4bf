// The keys of server.tls (HTTPS for clients) and how each value is read. The loader walks the
// mapping with its usual key checks and hands every value's text here.
#pragma once

#include <string>
#include <string_view>

#include "config/key_scopes.hpp"
#include "llmux/config.hpp"

namespace llmux::config_detail {

inline constexpr KeySpec kServerTlsKeys[] = {
    {"cert", {"cert_file", "certificate"}}, {"key", {"key_file", "private_key"}}, {"min_version", {"tls_version"}}};
inline constexpr Scope kServerTlsScope{kServerTlsKeys, "a server TLS setting", "under server.tls:"};

// Sets server.tls's `canonical_key` from its text. Returns what is wrong with the value, or an
// empty string when it was taken.
std::string set_server_tls_key(std::string_view canonical_key, std::string value, ServerTlsConfig& tls);

// What is missing from a server.tls section that was written (a certificate without its key, or
// the other way round); empty when it is complete or absent.
std::string incomplete_server_tls(const ServerTlsConfig& tls);

}  // namespace llmux::config_detail
