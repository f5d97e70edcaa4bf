// The HTTP gateway server: N worker threads, each with its own io_context, accepting on one shared
// listening socket, with its own upstream connection pool, so a request never crosses threads or
// takes a lock.
// Public methods are thread-safe unless noted.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "llmux/expected.hpp"
#include "server/gateway_state.hpp"

namespace llmux::storage {
class UsageLedger;
}
namespace llmux::governance {
class VirtualKeys;
}
namespace llmux::admin {
class AdminWorker;
}

namespace llmux::server {

// Token totals captured from responses and final stream chunks, per provider. Updated after the
// response is sent (off the request path) with relaxed atomics; read by GET /api/usage.
struct UsageTotals {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> prompt_tokens{0};
  std::atomic<uint64_t> completion_tokens{0};
};

class Server {
 public:
  explicit Server(std::shared_ptr<const GatewayState> state);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port (port 0 = any free port) on every worker. Returns the bound port.
  Expected<uint16_t, std::string> listen();
  // Runs until stop() or SIGTERM/SIGINT, then drains: stops accepting, lets in-flight requests
  // and streams finish within the configured grace period; what still runs then is cut with a
  // final error event. Returns how many answers were cut (0: a clean stop). SIGHUP calls the
  // reload function. Not thread-safe; call once.
  int run();
  // Called on SIGHUP, on the server's main thread. Set before run().
  void set_reload(std::function<void()> reload);
  // Every finished request is recorded in `ledger` (GET /api/usage reports from it). Set before run().
  void set_ledger(std::shared_ptr<storage::UsageLedger> ledger);
  // Requests may present the virtual keys `keys` holds; the server keeps them fresh from their
  // store (governance::KeyRefresher on its main thread, and on SIGHUP). Set before run().
  void set_virtual_keys(std::shared_ptr<governance::VirtualKeys> keys);
  // The admin endpoints (routes.cpp) run on `admin`'s threads; without it only the worker-thread
  // /api endpoints answer. Set before run(); stop it before the server is destroyed.
  void set_admin(std::shared_ptr<admin::AdminWorker> admin);
  // The snapshot requests are being served with now.
  std::shared_ptr<const GatewayState> current_state() const;
  // Starts a graceful stop from any thread.
  void stop();
  // Replaces the config snapshot; requests already running keep the old one.
  void update_state(std::shared_ptr<const GatewayState> state);

  struct Impl;

 private:
  void wait_for_hangup();

  std::unique_ptr<Impl> impl_;
};

}  // namespace llmux::server
