// Address classes, allowed_upstreams and the URL host forms the upstream guard refuses.
#include "config/upstream_policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "config/config_internal.hpp"
#include "config/key_scopes.hpp"

namespace llmux {

using config_detail::to_lower;

namespace {

uint32_t v4_value(const IpAddress& a) {
  return (uint32_t{a.bytes[0]} << 24) | (uint32_t{a.bytes[1]} << 16) | (uint32_t{a.bytes[2]} << 8) | a.bytes[3];
}

bool in_v4(uint32_t address, uint32_t network, int prefix) {
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return (address & mask) == (network & mask);
}

constexpr uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return (uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d;
}

AddressKind classify_v4(uint32_t a) {
  using C = AddressClass;
  if (in_v4(a, ip4(0, 0, 0, 0), 8)) return {C::refused, "in 0.0.0.0/8 (\"this network\")"};
  if (in_v4(a, ip4(169, 254, 0, 0), 16)) return {C::refused, "link-local (169.254.0.0/16, cloud metadata)"};
  if (a == ip4(100, 100, 100, 200)) return {C::refused, "a cloud metadata address (100.100.100.200)"};
  if (in_v4(a, ip4(224, 0, 0, 0), 4)) return {C::refused, "multicast (224.0.0.0/4)"};
  if (a == ip4(255, 255, 255, 255)) return {C::refused, "the broadcast address"};
  if (in_v4(a, ip4(240, 0, 0, 0), 4)) return {C::refused, "reserved (240.0.0.0/4)"};
  if (in_v4(a, ip4(127, 0, 0, 0), 8)) return {C::private_range, "loopback (127.0.0.0/8)"};
  if (in_v4(a, ip4(10, 0, 0, 0), 8) || in_v4(a, ip4(172, 16, 0, 0), 12) || in_v4(a, ip4(192, 168, 0, 0), 16))
    return {C::private_range, "private (RFC 1918)"};
  if (in_v4(a, ip4(100, 64, 0, 0), 10)) return {C::private_range, "shared address space (100.64.0.0/10)"};
  return {};
}

bool starts_with_bytes(const IpAddress& a, std::initializer_list<uint8_t> prefix) {
  return std::equal(prefix.begin(), prefix.end(), a.bytes.begin());
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A label as an IPv4 parser in the WHATWG URL or inet_aton sense reads it: decimal, 0x hex, or
// leading-zero octal.
bool is_numeric_label(std::string_view s) {
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    return std::all_of(s.begin() + 2, s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  return is_digits(s);
}

std::string_view without_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

std::string normal_host(std::string_view host) {
  std::string h = to_lower(without_brackets(host));
  if (!h.empty() && h.back() == '.') h.pop_back();
  return h;
}

// "10.0.0.0/8", "fd00::/8", or a single address (a /32 or /128).
std::optional<std::pair<IpAddress, int>> parse_cidr(std::string_view text) {
  size_t slash = text.find('/');
  auto address = IpAddress::parse(without_brackets(text.substr(0, slash)));
  if (!address) return std::nullopt;
  int max = address->v6 ? 128 : 32;
  int prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (!is_digits(digits) || digits.size() > 3) return std::nullopt;
    std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (prefix > max) return std::nullopt;
  }
  return std::pair{*address, prefix};
}

bool is_host_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buffer[46];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress a;
  if (text.find(':') == std::string_view::npos) {
    // inet_pton takes only the strict dotted quad (no octal, hex or short forms), as wanted here.
    if (inet_pton(AF_INET, buffer, a.bytes.data()) != 1) return std::nullopt;
    return a;
  }
  if (inet_pton(AF_INET6, buffer, a.bytes.data()) != 1) return std::nullopt;
  a.v6 = true;
  return a;
}

IpAddress IpAddress::v4(uint32_t host_order) {
  IpAddress a;
  a.bytes[0] = static_cast<uint8_t>(host_order >> 24);
  a.bytes[1] = static_cast<uint8_t>(host_order >> 16);
  a.bytes[2] = static_cast<uint8_t>(host_order >> 8);
  a.bytes[3] = static_cast<uint8_t>(host_order);
  return a;
}

IpAddress IpAddress::embedded_v4() const {
  if (!v6) return *this;
  bool mapped = starts_with_bytes(*this, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff});
  bool compatible = starts_with_bytes(*this, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) &&
                    (bytes[12] | bytes[13]) != 0;  // not :: or ::1 (those are IPv6's own)
  bool nat64 = starts_with_bytes(*this, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0});
  if (!mapped && !compatible && !nat64) return *this;
  IpAddress out;
  std::copy(bytes.begin() + 12, bytes.end(), out.bytes.begin());
  return out;
}

std::string IpAddress::to_string() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buffer, sizeof buffer);
  return buffer;
}

AddressKind classify_address(const IpAddress& address) {
  using C = AddressClass;
  IpAddress a = address.embedded_v4();
  if (!a.v6) return classify_v4(v4_value(a));
  static const IpAddress aws_metadata = *IpAddress::parse("fd00:ec2::254");
  static const IpAddress loopback = *IpAddress::parse("::1");
  if (a.bytes == IpAddress{true, {}}.bytes) return {C::refused, "the unspecified address (::)"};
  if (a.bytes == aws_metadata.bytes) return {C::refused, "a cloud metadata address (fd00:ec2::254)"};
  if (a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80) return {C::refused, "link-local (fe80::/10)"};
  if (a.bytes[0] == 0xff) return {C::refused, "multicast (ff00::/8)"};
  if (a.bytes == loopback.bytes) return {C::private_range, "loopback (::1)"};
  if ((a.bytes[0] & 0xfe) == 0xfc) return {C::private_range, "unique local (fc00::/7)"};
  return {};
}

bool is_metadata_host(std::string_view host) {
  std::string h = normal_host(host);
  return h == "metadata.google.internal" || h == "metadata";
}

std::optional<std::string> odd_ipv4_form(std::string_view host) {
  if (host.empty() || host.front() == '[') return std::nullopt;
  std::string_view name = host;
  bool trailing_dot = name.back() == '.';
  if (trailing_dot) name.remove_suffix(1);
  size_t last_dot = name.rfind('.');
  std::string_view last = last_dot == std::string_view::npos ? name : name.substr(last_dot + 1);
  // Like a URL parser: a host whose last label is a number is an IPv4 address, in some form.
  if (!is_numeric_label(last)) return std::nullopt;
  if (!trailing_dot && IpAddress::parse(name)) {
    bool leading_zero = false;
    size_t start = 0;
    while (start <= name.size()) {
      size_t end = std::min(name.find('.', start), name.size());
      if (end - start > 1 && name[start] == '0') leading_zero = true;
      start = end + 1;
    }
    if (!leading_zero) return std::nullopt;
  }
  return "URL host \"" + std::string(host) +
         "\" is an IPv4 address in an unusual form (an integer, hex, octal, a short or dotted form), which "
         "different programs read as different addresses: write it as four decimal numbers (a.b.c.d)";
}

bool UpstreamPolicy::Network::contains(const IpAddress& a) const {
  IpAddress candidate = base.v6 ? a : a.embedded_v4();
  if (candidate.v6 != base.v6) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (!std::equal(base.bytes.begin(), base.bytes.begin() + full, candidate.bytes.begin())) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (base.bytes[full] & mask) == (candidate.bytes[full] & mask);
}

Expected<UpstreamPolicy, std::vector<std::string>> UpstreamPolicy::compile(const UpstreamGuardConfig& config) {
  UpstreamPolicy policy;
  policy.allow_private_ = config.allow_private;
  std::vector<std::string> errors;
  for (size_t i = 0; i < config.allowed_upstreams.size(); ++i) {
    const std::string& entry = config.allowed_upstreams[i];
    if (auto cidr = parse_cidr(entry)) {
      policy.networks_.push_back({cidr->first, cidr->second});
    } else if (entry.find('/') == std::string::npos && is_host_name(entry) && !odd_ipv4_form(entry)) {
      policy.hosts_.push_back(normal_host(entry));
    } else {
      errors.push_back("entry " + std::to_string(i + 1) + ", \"" + entry +
                       "\" is neither a host name nor an address or CIDR (e.g. localhost, 10.0.0.0/8, fd00::/8)");
    }
  }
  if (!errors.empty()) return unexpected(std::move(errors));
  return policy;
}

bool UpstreamPolicy::host_listed(std::string_view host) const {
  if (hosts_.empty()) return false;
  std::string h = normal_host(host);
  return std::find(hosts_.begin(), hosts_.end(), h) != hosts_.end();
}

bool UpstreamPolicy::address_listed(const IpAddress& address) const {
  return std::any_of(networks_.begin(), networks_.end(), [&](const Network& n) { return n.contains(address); });
}

std::optional<std::string> UpstreamPolicy::refuse_address(std::string_view host, const IpAddress& address) const {
  if (host_listed(host) || address_listed(address)) return std::nullopt;
  std::string named = "upstream_not_allowed: " + std::string(host);
  std::string shown = address.to_string();
  if (shown != without_brackets(host)) named += " (" + shown + ")";
  if (is_metadata_host(host))
    return named + " is a cloud metadata service; list it in admin.allowed_upstreams to allow it";
  AddressKind kind = classify_address(address);
  if (kind.cls == AddressClass::refused)
    return named + " is " + std::string(kind.what) + "; list it in admin.allowed_upstreams to allow it";
  if (kind.cls == AddressClass::private_range && !allow_private_)
    return named + " is " + std::string(kind.what) +
           " and admin.allow_private is false; list it in admin.allowed_upstreams to allow it";
  return std::nullopt;
}

std::optional<std::string> UpstreamPolicy::refuse_host(std::string_view host) const {
  if (host.empty() || host_listed(host)) return std::nullopt;
  if (auto literal = IpAddress::parse(without_brackets(host))) return refuse_address(host, *literal);
  if (is_metadata_host(host))
    return "upstream_not_allowed: " + std::string(host) +
           " is a cloud metadata service; list it in admin.allowed_upstreams to allow it";
  std::string lower = to_lower(host);
  if (lower.rfind("xn--", 0) == 0 || lower.find(".xn--") != std::string::npos)
    return "upstream_not_allowed: " + std::string(host) +
           " is an internationalized (punycode) host name, which can imitate another; list it in "
           "admin.allowed_upstreams to allow it";
  return std::nullopt;
}

std::string_view url_host(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return {};
  std::string_view rest = url.substr(sep + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (!authority.empty() && authority.front() == '[') return authority.substr(0, authority.find(']') + 1);
  return authority.substr(0, authority.rfind(':'));
}

namespace config_detail {

GovernanceIssues read_upstream_guard(const YAML::Node& node, const std::string& path, UpstreamGuardConfig& out) {
  GovernanceIssues issues;
  if (!node.IsMap()) {
    issues.push_back({node, path, "expected a mapping with allowed_upstreams and allow_private"});
    return issues;
  }
  for (const auto& entry : node) {
    std::string key = entry.first.Scalar();
    std::string at = path + "." + key;
    const YAML::Node& value = entry.second;
    std::string folded = fold(key);
    if (folded == "allowedupstreams") {
      if (value.IsNull()) continue;
      if (value.IsScalar()) {
        out.allowed_upstreams.push_back(value.Scalar());
        continue;
      }
      if (!value.IsSequence()) {
        issues.push_back({value, at, "expected a list of host names and CIDRs, e.g. [localhost, 10.0.0.0/8]"});
        continue;
      }
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].IsScalar() || value[i].Scalar().empty())
          issues.push_back({value[i], at + "[" + std::to_string(i) + "]", "expected a host name or a CIDR"});
        else
          out.allowed_upstreams.push_back(value[i].Scalar());
      }
    } else if (folded == "allowprivate") {
      std::string text = value.IsScalar() ? to_lower(value.Scalar()) : std::string();
      if (text == "true" || text == "false") out.allow_private = text == "true";
      else issues.push_back({value, at, "expected true or false"});
    } else {
      issues.push_back({entry.first, at, "unknown admin setting \"" + key + "\" (known: allowed_upstreams, allow_private)"});
    }
  }
  return issues;
}

}  // namespace config_detail
}  // namespace llmux
