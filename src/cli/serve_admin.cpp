#include "cli/serve_admin.hpp"

namespace llmux::cli {

ServeAdmin::ServeAdmin(server::Server& server, store::Paths paths, std::string state_dir, Reload reload, Origin origin,
                       std::shared_ptr<governance::VirtualKeys> keys, std::shared_ptr<storage::KeyStore> key_store,
                       std::shared_ptr<storage::UsageLedger> ledger)
    : server_(server),
      paths_(std::move(paths)),
      reload_(std::move(reload)),
      origin_(std::move(origin)),
      keys_(std::move(keys)),
      key_store_(std::move(key_store)),
      ledger_(std::move(ledger)),
      audit_(state_dir.empty() ? std::string() : admin::audit_log_path(state_dir)) {}

}  // namespace llmux::cli
