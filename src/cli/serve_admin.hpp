// The AdminContext of `llmux serve`: the running server, its stores and its reload. apply() is the
// reload the file watcher does (config file + provider store + vault, swapped into the server),
// run on the calling admin thread and serialized with the watcher's own reloads.
#pragma once

#include <functional>
#include <memory>

#include "admin/admin_api.hpp"
#include "admin/audit_log.hpp"
#include "server/server.hpp"

namespace llmux::cli {

class ServeAdmin final : public admin::AdminContext {
 public:
  using Reload = std::function<Expected<void, std::vector<std::string>>()>;
  using Origin = std::function<std::optional<store::ProviderOrigin>(std::string_view)>;

  ServeAdmin(server::Server& server, store::Paths paths, std::string state_dir, Reload reload, Origin origin,
             std::shared_ptr<governance::VirtualKeys> keys, std::shared_ptr<storage::KeyStore> key_store,
             std::shared_ptr<storage::UsageLedger> ledger);

  std::shared_ptr<const server::GatewayState> state() const override { return server_.current_state(); }
  const store::Paths& paths() const override { return paths_; }
  Expected<void, std::vector<std::string>> apply() override { return reload_(); }
  governance::VirtualKeys* virtual_keys() override { return keys_.get(); }
  storage::UsageLedger* ledger() override { return ledger_.get(); }
  admin::AuditLog& audit() override { return audit_; }
  std::optional<store::ProviderOrigin> origin_of(std::string_view provider) const override { return origin_(provider); }
  storage::KeyStore* key_store() override { return key_store_.get(); }

 private:
  server::Server& server_;
  store::Paths paths_;
  Reload reload_;
  Origin origin_;
  std::shared_ptr<governance::VirtualKeys> keys_;
  std::shared_ptr<storage::KeyStore> key_store_;
  std::shared_ptr<storage::UsageLedger> ledger_;
  admin::AuditLog audit_;
};

}  // namespace llmux::cli
