// No SSRF through a provider's URL: every new upstream connection is checked on the address it is
// about to connect to (after DNS, so a name that resolves to a metadata or, with
// admin.allow_private false, a private address is refused however it was spelled or re-bound).
// Both engines call refuse_connection once per new connection, never per request; a refusal is
// TransferFailure::not_allowed, answered as `upstream_not_allowed` and never retried or failed
// over (README "Upstream guard (SSRF)"). The rules are config/upstream_policy.hpp.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/upstream_policy.hpp"

namespace llmux::http {

// The policy of the whole process: `llmux serve` installs the config's on each load, the CLI its
// config's. Until then the defaults (metadata and link-local refused, private ranges allowed).
// An invalid config keeps the previous policy (validation has reported it).
void set_upstream_guard(const UpstreamGuardConfig& config);
UpstreamGuardConfig upstream_guard_config();

// Why a connection to `address` for the URL host `host` is refused; nullopt when allowed (also for
// address families other than IPv4/IPv6).
std::optional<std::string> refuse_connection(std::string_view host, const sockaddr* address);

// The same check for a plain libcurl easy handle (the self-test's own requests): sockets to a
// refused address are never opened, and `refused` says why. Lives as long as the handle's transfer.
struct CurlGuard {
  std::string host;
  std::string refused;
};
void guard_curl_handle(void* easy, CurlGuard& guard);

}  // namespace llmux::http
