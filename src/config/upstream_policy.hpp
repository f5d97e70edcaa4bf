// The upstream guard's rules (README "Upstream guard (SSRF)"): which addresses an upstream may
// have, given admin.allow_private and admin.allowed_upstreams, and the URL host forms refused
// outright. Plain values shared by config validation (a provider's base_url, so config file, CLI
// and admin API all get it) and the connect-time check on resolved addresses
// (http/upstream_guard.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/governance_keys.hpp"
#include "llmux/config.hpp"

namespace llmux {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4: the first four, network order

  // A dotted quad (exactly a.b.c.d, decimal) or an IPv6 address without zone; nullopt otherwise.
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress v4(uint32_t host_order);
  // The IPv4 address an IPv6 one stands for (::ffff:a.b.c.d, ::a.b.c.d, 64:ff9b::a.b.c.d), else itself.
  IpAddress embedded_v4() const;
  std::string to_string() const;
};

enum class AddressClass {
  ordinary,  // a public address
  private_range,  // loopback, RFC 1918, CGNAT, unique local: allowed unless admin.allow_private is false
  refused,  // metadata, link-local, unspecified, multicast, broadcast, reserved: never, unless listed
};

struct AddressKind {
  AddressClass cls = AddressClass::ordinary;
  std::string_view what;  // e.g. "link-local (cloud metadata)"; empty for ordinary addresses
};

AddressKind classify_address(const IpAddress& address);

// Cloud metadata services' host names (metadata.google.internal, metadata), any case, trailing dot.
bool is_metadata_host(std::string_view host);

// An IPv4 address written the way only some parsers read it ("2852039166", "0x7f.1", "0177.0.0.1",
// "127.1"): what is wrong, or nullopt. Such hosts mean different addresses to different code.
std::optional<std::string> odd_ipv4_form(std::string_view host);

class UpstreamPolicy {
 public:
  UpstreamPolicy() = default;
  // Fails on an allowed_upstreams entry that is neither a host name nor an address/CIDR.
  static Expected<UpstreamPolicy, std::vector<std::string>> compile(const UpstreamGuardConfig& config);

  // Why a connection to `address`, reached through the URL host `host`, is refused; nullopt when
  // allowed. Messages start with "upstream_not_allowed:" and name host and address.
  std::optional<std::string> refuse_address(std::string_view host, const IpAddress& address) const;
  // What can be told from the URL's host alone (a literal address, a metadata or punycode name);
  // host names are checked again on their resolved addresses at connect time. `host` may be
  // bracketed ("[::1]").
  std::optional<std::string> refuse_host(std::string_view host) const;

  bool allow_private() const noexcept { return allow_private_; }

 private:
  struct Network {
    IpAddress base;
    int prefix = 0;
    bool contains(const IpAddress& a) const;
  };
  bool host_listed(std::string_view host) const;
  bool address_listed(const IpAddress& address) const;

  bool allow_private_ = true;
  std::vector<std::string> hosts_;  // lower case, no trailing dot
  std::vector<Network> networks_;
};

// The host of an http(s) URL as written (brackets kept for IPv6); empty when there is none.
std::string_view url_host(std::string_view url);

namespace config_detail {

// The `admin:` mapping's upstream settings (allowed_upstreams, allow_private; camelCase too).
// An unknown key under admin: is an issue naming the known ones.
GovernanceIssues read_upstream_guard(const YAML::Node& node, const std::string& path, UpstreamGuardConfig& out);

}  // namespace config_detail
}  // namespace llmux
