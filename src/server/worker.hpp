// The server's shared core (Server::Impl) and its workers. Each worker runs one io_context on one
// thread and owns its acceptor, its connections and its upstream pool: a request never crosses
// threads. What workers share is stated field by field.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "admin/ui_sessions.hpp"
#include "admin/admin_worker.hpp"
#include "http/asio_types.hpp"
#include "http/upstream.hpp"
#include "observability/metrics.hpp"
#include "governance/key_refresher.hpp"
#include "server/block_pool.hpp"
#include "server/client_tls.hpp"
#include "server/health_probes.hpp"
#include "server/server.hpp"
#include "storage/ledger.hpp"

namespace llmux::server {

class Connection;
struct Worker;

struct Server::Impl {
  explicit Impl(std::shared_ptr<const GatewayState> s);

  std::shared_ptr<const GatewayState> current_state() {
    std::lock_guard lock(state_mutex);
    return state;
  }
  void current(std::shared_ptr<const GatewayState>& s, ClientTlsContext& tls) {
    std::lock_guard lock(state_mutex);
    s = state;
    tls = client_tls;
  }
  // A reload's server.tls: a new context when the settings or either file changed; on an error
  // (or TLS turned on or off, which takes a restart) the current one stays. Called before the
  // state is published, off the request path.
  ClientTlsContext reload_client_tls(const ServerTlsConfig& tls);
  void finish_if_drained();
  UsageTotals& usage_for(const std::string& provider);
  // GET /api/usage?since=&until=&by=: the ledger's report plus the in-memory per-provider totals.
  Expected<std::string, Error> usage_json(std::string_view target);

  std::mutex state_mutex;  // guards `state` and `client_tls` (read by workers only when state_version moves)
  std::shared_ptr<const GatewayState> state;
  ClientTlsContext client_tls;         // null: plain HTTP
  std::string client_tls_source;  // what client_tls was built from; touched by listen and reloads only
  std::atomic<uint64_t> state_version{1};
  std::function<void()> on_reload;  // SIGHUP; set before run()

  std::vector<std::unique_ptr<Worker>> workers;
  boost::asio::io_context main_io{1};
  // main_io's; declared after it so they are destroyed before it.
  std::optional<boost::asio::signal_set> stop_signals, hangup;
  std::atomic<bool> draining{false};
  std::atomic<int64_t> live_connections{0};  // all workers; also the max_connections count
  std::atomic<uint64_t> rejected_connections{0};
  std::atomic<uint64_t> streams_cut{0};  // answers still running when the grace period ended
  std::atomic<bool> finished{false};
  std::unique_ptr<boost::asio::steady_timer> grace_timer;
  // Breakers, balancer stats and health across reloads; bound to every snapshot before it is
  // published. Its health events go to the log and, through `probes`, to alerts.webhook.
  RouterRegistry registry;
  std::unique_ptr<HealthProbes> probes;  // on main_io
  observability::Metrics metrics;
  std::map<std::string, UsageTotals> usage;  // entries are never removed: pointers stay valid
  std::mutex usage_mutex;                    // guards the map's shape, not the counters
  std::shared_ptr<storage::UsageLedger> ledger;  // set before run(); null: requests are not recorded
  // Set before run(); null: no virtual keys. Refreshed on main_io, read by workers' key_reader.
  std::shared_ptr<governance::VirtualKeys> virtual_keys;
  std::unique_ptr<governance::KeyRefresher> key_refresher;  // on main_io
  admin::UiSessions ui_sessions;  // the dashboard's logins, shared by all workers
  // Last, so it is destroyed first: its threads post answers to the workers' io_contexts.
  std::shared_ptr<admin::AdminWorker> admin;  // set before run(); null: no admin endpoints
};

struct Worker {
  explicit Worker(Server::Impl& server)
      : server(server), metrics(server.metrics.add_shard()), acceptor(io.get_executor()), upstream(io) {}

  // The newest config snapshot; a request keeps the one it started with.
  const std::shared_ptr<const GatewayState>& state() {
    uint64_t v = server.state_version.load(std::memory_order_acquire);
    if (v != state_version) {
      server.current(state_ptr, tls_ptr);
      state_version = v;
    }
    return state_ptr;
  }

  void accept();
  void retry_accept_later();  // EMFILE/ENFILE: wait instead of spinning on the error
  void refuse(http::TcpSocket socket);  // over server.max_connections
  void drain();
  void sweep_idle();  // closes connections stalled past the idle or write timeout, once a second
  void cut_all();     // the grace period is over
  void abort_all();   // only after the worker's thread has stopped
  std::vector<std::shared_ptr<Connection>> live_connections();
  void forget(Connection& connection);

  // Worker-local cache so the shared map's mutex is taken once per provider, not per request.
  UsageTotals& usage_for(const std::string& provider) {
    auto it = usage_cache.find(provider);
    if (it == usage_cache.end()) it = usage_cache.emplace(provider, &server.usage_for(provider)).first;
    return *it->second;
  }

  Server::Impl& server;
  observability::MetricsShard& metrics;  // this worker's; recorded into from its thread only
  // Before `io`, so that it outlives the exchanges that pending handlers still hold.
  BlockPool exchange_blocks;
  // One thread runs this context and owns every socket on it, so the reactor needs no locks;
  // other threads only post to it (drain, stop), which stays locked.
  boost::asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  http::TcpAcceptor acceptor;
  http::UpstreamClient upstream;
  std::thread thread;
  std::shared_ptr<const GatewayState> state_ptr;
  ClientTlsContext tls_ptr;  // what new connections are accepted with, refreshed with state_ptr
  uint64_t state_version = 0;
  std::unordered_map<std::string, UsageTotals*> usage_cache;
  governance::KeySnapshotReader key_reader;  // this worker's view of server.virtual_keys
  std::list<std::weak_ptr<Connection>> connections;  // touched only on this thread
  boost::asio::steady_timer idle_timer{io};
  boost::asio::steady_timer accept_timer{io};
  std::chrono::milliseconds accept_backoff{0};
  size_t released_bytes = 0;  // buffer capacity of connections gone since the last malloc_trim
};

}  // namespace llmux::server
