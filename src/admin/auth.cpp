#include "admin/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "core/text.hpp"
#include "server/endpoints/endpoints.hpp"

namespace llmux::admin {

AdminGate admin_gate(const GatewayConfig& config) {
  if (config.admin_auth.key && !config.admin_auth.key->empty()) return AdminGate::key;
  return server::is_loopback_host(config.server.host) ? AdminGate::loopback : AdminGate::disabled;
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

std::string admin_key_id(std::string_view prefix, std::string_view key) {
  std::string id(prefix);
  if (key.size() >= 12) {
    id += " …";
    id += key.substr(key.size() - 4);
  }
  return id;
}

AdminCheck check_admin(const GatewayConfig& config, std::string_view authorization) {
  AdminCheck check;
  switch (admin_gate(config)) {
    case AdminGate::loopback:
      check.outcome = AdminCheck::Outcome::gateway_keys;
      check.admin_id = "loopback";
      return check;
    case AdminGate::disabled:
      check.error = Error::make(ErrorKind::permission,
                                "the admin API is off: no admin key is set and the gateway listens on " +
                                    config.server.host + ", not on loopback only; set admin_key or LLMUX_ADMIN_KEY",
                                {}, "admin_disabled");
      return check;
    case AdminGate::key: break;
  }
  std::string_view presented;
  if (istarts_with(authorization, "bearer ")) presented = authorization.substr(7);
  if (presented.empty()) {
    check.error = Error::make(ErrorKind::authentication,
                              "missing admin key: send 'Authorization: Bearer <admin key>' (admin_key in the "
                              "llmux config or LLMUX_ADMIN_KEY); gateway keys do not open the admin API",
                              {}, "missing_admin_key");
    return check;
  }
  std::string_view expected = config.admin_auth.key->reveal();
  if (!constant_time_equals(presented, expected)) {
    check.error = Error::make(ErrorKind::authentication,
                              "invalid admin key (gateway keys do not open the admin API when an admin key is set)",
                              {}, "invalid_admin_key");
    return check;
  }
  check.outcome = AdminCheck::Outcome::admitted;
  check.admin_id = admin_key_id("admin-key", expected);
  return check;
}

std::string admin_start_line(const GatewayConfig& config) {
  switch (admin_gate(config)) {
    case AdminGate::key:
      return "admin API: on (admin key from " + config.admin_auth.key_source + ")";
    case AdminGate::loopback: return "admin API: no admin key set; listening on loopback only";
    case AdminGate::disabled: return "admin API: off (no admin key and not loopback)";
  }
  return {};
}

}  // namespace llmux::admin
