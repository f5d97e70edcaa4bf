// The admin API's contract: what an admin endpoint receives and answers, and the gateway services
// it may use. Endpoints are plain functions registered in routes.cpp; they run on the admin
// threads (admin_worker), never on a worker's event loop, so they may block (files, the vault,
// SQLite, a provider self-test). The answer is posted back to the connection's own thread.
#pragma once

#include <boost/beast/http/verb.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/error.hpp"
#include "store/files.hpp"
#include "store/sources.hpp"

namespace llmux::server {
struct GatewayState;
}
namespace llmux::governance {
class VirtualKeys;
}
namespace llmux::storage {
class UsageLedger;
class KeyStore;
}

namespace llmux::admin {

class AuditLog;

struct AdminRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string path;                 // without the query
  std::string query;                // after '?', still percent-encoded; "" if none
  std::string body;
  std::string if_match;             // the If-Match header; "" if absent
  std::string admin_id;             // who asks, for the audit log: never a secret (e.g. "admin-key …a1b2")
  std::vector<std::string> params;  // the path's captures ({name}, {id}), percent-decoded
};

struct AdminAnswer {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string headers;  // extra header lines, each "Name: value\r\n" (ETag, Location)
};

// The OpenAI error shape {"error":{"message","type","param","code"}} with the error's status.
AdminAnswer error_answer(const Error& error);

// One problem of a request body, for validation answers: `field` as a path into the body
// ("models[0].id", "baseUrl"), `message` what is wrong with it.
struct FieldProblem {
  std::string field;
  std::string message;
};
// The OpenAI shape plus "errors":[{"field","message"},...] inside "error", listing every problem
// at once (400 invalid_provider_config and the like).
AdminAnswer error_answer(const Error& error, const std::vector<FieldProblem>& problems);

// A 200 (or `status`) JSON answer.
AdminAnswer json_answer(std::string body, int status = 200);

// The running gateway as the admin endpoints see it. Implemented by `llmux serve`; tests may
// implement it over a temporary store. Thread-safe: called from the admin threads.
class AdminContext {
 public:
  virtual ~AdminContext() = default;
  // The snapshot requests are being served with right now.
  virtual std::shared_ptr<const server::GatewayState> state() const = 0;
  // Where the provider store, the vault and the state directory are.
  virtual const store::Paths& paths() const = 0;
  // Re-reads config file + provider store + vault and swaps the result into the running gateway
  // (requests in flight keep their snapshot). Synchronous; concurrent calls are serialized with
  // each other and with file-watch reloads. The errors are the loader's, one line each.
  virtual Expected<void, std::vector<std::string>> apply() = 0;
  virtual governance::VirtualKeys* virtual_keys() = 0;  // null: no key store
  virtual storage::UsageLedger* ledger() = 0;           // null: ledger off
  virtual AuditLog& audit() = 0;
  // Where a provider of the running gateway comes from (config | store | environment | vault |
  // probe, and its file); nullopt when unknown. Providers from the config file are read-only.
  virtual std::optional<store::ProviderOrigin> origin_of(std::string_view provider) const { return std::nullopt; }
  // The virtual key store `llmux keys` edits (null: none). The gateway rereads it within
  // governance::kKeyPropagationMs of a change.
  virtual storage::KeyStore* key_store() { return nullptr; }
};

using AdminEndpoint = AdminAnswer (*)(AdminContext& context, const AdminRequest& request);

}  // namespace llmux::admin
