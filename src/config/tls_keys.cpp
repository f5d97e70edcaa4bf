#include "config/tls_keys.hpp"

#include "config/config_internal.hpp"
#include "config/key_scopes.hpp"

namespace llmux::config_detail {

namespace {

constexpr KeySpec kSecurityKeys[] = {
    {"tls_version", {"min_version", "min_tls_version"}}, {"certificate_validation", {"verify"}}, {"allow_insecure"}};
constexpr KeySpec kTlsKeys[] = {
    {"ca_file", {"ca", "ca_cert"}}, {"client_cert", {"cert"}}, {"client_key", {"key"}}, {"server_name", {"sni"}}};
constexpr Scope kSecurityScope{kSecurityKeys, "a provider security setting", "under a provider's security:", false};
constexpr Scope kTlsScope{kTlsKeys, "a provider TLS setting", "under a provider's tls:", false};

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

class GroupReader {
 public:
  GroupReader(const TlsKeyReport& report) : report_(report) {}

  std::optional<std::string> text(const YAML::Node& value, const std::string& key) {
    if (value.IsNull()) return std::nullopt;
    if (!value.IsScalar()) {
      report_(value, key, "expected a single value");
      return std::nullopt;
    }
    auto expanded = expand_env(value.Scalar());
    if (!expanded) {
      report_(value, key, expanded.error());
      return std::nullopt;
    }
    return std::move(*expanded);
  }

  std::optional<bool> boolean(const YAML::Node& value, const std::string& key) {
    auto s = text(value, key);
    if (!s) return std::nullopt;
    std::string lower = to_lower(*s);
    if (lower == "true" || lower == "false") return lower == "true";
    report_(value, key, "expected true or false, got " + quoted(*s));
    return std::nullopt;
  }

  const TlsKeyReport& report_;
};

}  // namespace

Expected<TlsVersion, std::string> parse_tls_version(std::string_view text) {
  std::string v = to_lower(text);
  for (std::string_view prefix : {"tlsv", "tls"})
    if (v.rfind(prefix, 0) == 0) {
      v.erase(0, prefix.size());
      break;
    }
  if (v == "1.2") return TlsVersion::tls1_2;
  if (v == "1.3") return TlsVersion::tls1_3;
  if (v == "1.0" || v == "1.1" || v == "1")
    return unexpected("TLS " + v + " is not offered (insecure and disabled in OpenSSL); use \"1.2\" or \"1.3\"");
  return unexpected("unknown TLS version " + quoted(text) + "; expected \"1.2\" or \"1.3\"");
}

void load_tls_keys(const YAML::Node& group, TlsKeyGroup which, ProviderTlsConfig& out, const TlsKeyReport& report) {
  if (group.IsNull()) return;
  const Scope& scope = which == TlsKeyGroup::security ? kSecurityScope : kTlsScope;
  if (!group.IsMap()) {
    report(group, "", which == TlsKeyGroup::security ? "expected a mapping: security: {tlsVersion: \"1.3\", ...}"
                                                     : "expected a mapping: tls: {ca_file: ..., ...}");
    return;
  }
  GroupReader read(report);
  std::optional<bool> validation, insecure;
  YAML::Node validation_node;
  for (auto it = group.begin(); it != group.end(); ++it) {
    if (!it->first.IsScalar()) {
      report(it->first, "", "keys must be plain names");
      continue;
    }
    // yaml-cpp's iterator hands out a temporary pair: keep copies (Nodes are handles), not references.
    const std::string key = it->first.Scalar();
    const KeySpec* spec = find_spec(scope.keys, key);
    if (!spec) {
      std::optional<Suggestion> hint;
      report(it->first, key, unknown_key_message(key, scope, hint));
      continue;
    }
    const YAML::Node value = it->second;
    std::string_view name = spec->name;
    if (name == "tls_version") {
      if (auto s = read.text(value, key)) {
        if (auto v = parse_tls_version(*s)) out.min_version = *v;
        else report(value, key, v.error());
      }
    } else if (name == "certificate_validation") {
      validation = read.boolean(value, key);
      validation_node = value;
    } else if (name == "allow_insecure") {
      insecure = read.boolean(value, key);
    } else if (auto s = read.text(value, key)) {
      if (name == "ca_file") out.ca_file = std::move(*s);
      else if (name == "client_cert") out.client_cert = std::move(*s);
      else if (name == "client_key") out.client_key = std::move(*s);
      else out.server_name = std::move(*s);
    }
  }
  if (insecure) out.allow_insecure = *insecure;
  if (validation) {
    out.verify = *validation;
    if (!out.verify && !out.allow_insecure)
      report(validation_node, "certificateValidation",
             "certificateValidation: false turns off certificate checks, which lets anyone on the path read and "
             "change this provider's traffic; it needs allowInsecure: true next to it");
  }
  if (which == TlsKeyGroup::tls && out.client_cert.empty() != out.client_key.empty())
    report(group, "", "client_cert and client_key go together (mutual TLS needs both)");
}

}  // namespace llmux::config_detail
