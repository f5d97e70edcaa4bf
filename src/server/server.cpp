#include "server/server.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <thread>

#include "observability/log.hpp"
#include "server/connection.hpp"
#include "server/gateway_handler.hpp"
#include "server/worker.hpp"

namespace llmux::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kMaxAcceptBackoff = std::chrono::milliseconds(1000);
// Freed buffers are given back to the system (malloc_trim) once this much has gone: RSS then
// follows the open streams down instead of staying at the peak of a burst.
constexpr size_t kTrimAfterBytes = 4 << 20;

// Client connections allowed when server.max_connections is not set: half of what the fd limit
// leaves after files and listeners, since every client connection may hold an upstream socket too.
int64_t default_max_connections() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 16384;
  int64_t fds = static_cast<int64_t>(limit.rlim_cur);
  return std::max<int64_t>(8, (fds - 64) / 2);
}

}  // namespace

// --- worker ----------------------------------------------------------------------------------------

void Worker::accept() {
  acceptor.async_accept([this](boost::system::error_code ec, http::TcpSocket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (ec == asio::error::no_descriptors || ec.value() == EMFILE || ec.value() == ENFILE ||
          ec == asio::error::no_buffer_space || ec == asio::error::no_memory)
        return retry_accept_later();
      return accept();  // the peer gave up before we took it (ECONNABORTED): nothing to wait for
    }
    accept_backoff = std::chrono::milliseconds(0);
    int64_t limit = state()->config.server.max_connections;
    if (limit <= 0) limit = default_max_connections();
    if (server.live_connections.load(std::memory_order_relaxed) >= limit) {
      refuse(std::move(socket));
      return accept();
    }
    socket.set_option(tcp::no_delay(true), ec);
    server.live_connections.fetch_add(1, std::memory_order_relaxed);
    auto connection =
        std::make_shared<Connection>(std::move(socket), io, [this](Connection& c) { forget(c); }, tls_ptr);
    connections.push_front(connection);
    connection->registry_entry = connections.begin();
    connection->start(std::make_unique<GatewayHandler>(*this));
    accept();
  });
}

// Out of descriptors: the connections we have keep being served, and accepting resumes once some
// close, instead of the acceptor failing again at once in a tight loop.
void Worker::retry_accept_later() {
  accept_backoff = std::min(kMaxAcceptBackoff, std::max(std::chrono::milliseconds(10), accept_backoff * 2));
  observability::log_warning("accept failed: out of file descriptors; retrying in " +
                             std::to_string(accept_backoff.count()) + "ms");
  accept_timer.expires_after(accept_backoff);
  accept_timer.async_wait([this](boost::system::error_code ec) {
    if (!ec) accept();
  });
}

void Worker::refuse(http::TcpSocket socket) {
  server.rejected_connections.fetch_add(1, std::memory_order_relaxed);
  static const std::string kBody = to_openai_json([] {
    Error e = Error::make(ErrorKind::upstream_error, "too many client connections (server.max_connections); retry later",
                          {}, "too_many_connections");
    e.http_status = 503;
    return e;
  }());
  static const std::string kResponse = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                       "Content-Length: " + std::to_string(kBody.size()) +
                                       "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + kBody;
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(kResponse), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

void Worker::forget(Connection& connection) {
  connections.erase(connection.registry_entry);
  released_bytes += connection.buffer_capacity();
  if (server.live_connections.fetch_sub(1, std::memory_order_acq_rel) == 1 && server.draining.load())
    asio::post(server.main_io, [s = &server] { s->finish_if_drained(); });
}

// Connections unlink themselves when destroyed, so act on a snapshot of the list.
std::vector<std::shared_ptr<Connection>> Worker::live_connections() {
  std::vector<std::shared_ptr<Connection>> out;
  for (auto& weak : connections)
    if (auto c = weak.lock()) out.push_back(std::move(c));
  return out;
}

void Worker::abort_all() {
  for (auto& c : live_connections()) c->abort();
  io.restart();
  io.poll();  // completes the aborted operations, which releases the connections
}

void Worker::sweep_idle() {
  const auto& server_config = state()->config.server;
  auto period = std::min<std::chrono::milliseconds>(std::chrono::seconds(1), server_config.idle_timeout / 2);
  period = std::min(period, std::max<std::chrono::milliseconds>(server_config.write_timeout / 2, period / 10));
  idle_timer.expires_after(std::max<std::chrono::milliseconds>(period, std::chrono::milliseconds(10)));
  idle_timer.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    auto limit = state()->config.server.idle_timeout;
    auto now = std::chrono::steady_clock::now();
    // glibc keeps freed memory for reuse; after many large buffers went (slow readers that
    // were cut, large bodies), give it back so RSS returns near its baseline.
    if (released_bytes > kTrimAfterBytes) {
      released_bytes = 0;
      ::malloc_trim(0);
    }
    for (auto& c : live_connections()) {
      if (c->stalled(now, limit)) {
        if (c->streaming())
          observability::log_warning("client stopped reading its stream for longer than server.write_timeout; closed");
        c->close();
        continue;
      }
      released_bytes += c->release_idle_memory();
    }
    sweep_idle();
  });
}

void Worker::drain() {
  idle_timer.cancel();
  accept_timer.cancel();
  boost::system::error_code ec;
  acceptor.close(ec);
  for (auto& c : live_connections()) c->drain();
}

void Worker::cut_all() {
  for (auto& c : live_connections()) c->cut_for_shutdown();
}

// --- server ----------------------------------------------------------------------------------------

void Server::Impl::finish_if_drained() {
  if (live_connections.load() != 0 || finished.exchange(true)) return;
  for (auto& w : workers) w->io.stop();
  main_io.stop();
}

Server::Impl::Impl(std::shared_ptr<const GatewayState> s)
    : registry([this](const router::HealthEvent& e) {
        observability::log_warning(describe(e));
        if (probes) probes->alert(e);
      }),
      probes(std::make_unique<HealthProbes>(main_io)) {
  registry.governance().set_alert_sink([this](const governance::BudgetAlert& a) {
    observability::log_warning(std::string("budget alert: ") + a.subject + " '" + a.id + "' has spent " +
                               std::to_string(a.threshold * 100).substr(0, 5) + "% or more of its " +
                               (a.crossing.period == governance::BudgetPeriod::daily ? "daily" : "monthly") + " budget");
    if (probes) probes->post_json(governance::budget_alert_json(a));
  });
  registry.bind(*s);
  state = std::move(s);
  probes->watch(state);
  metrics.governance.set_budget_reader([this](std::vector<observability::GovernanceMetrics::Budget>& out) {
    auto now = std::chrono::system_clock::now();
    current_state()->governance->for_each_budget(
        [&](const char* scope, std::string_view name, const governance::SubjectState& s, int64_t daily, int64_t monthly) {
          auto add = [&](const char* period, governance::BudgetPeriod p, int64_t cap_micro) {
            if (cap_micro > 0)
              out.push_back({scope, std::string(name), period, s.budget.spent(p, now) / 1e6, cap_micro / 1e6});
          };
          add("daily", governance::BudgetPeriod::daily, daily);
          add("monthly", governance::BudgetPeriod::monthly, monthly);
        });
  });
}

Server::Server(std::shared_ptr<const GatewayState> state) : impl_(std::make_unique<Impl>(std::move(state))) {}

Server::~Server() {
  // Before the workers go: an admin thread finishing a call posts its answer to a worker's io.
  if (impl_->admin) impl_->admin->stop();
  for (auto& w : impl_->workers) {
    w->io.stop();
    if (w->thread.joinable()) w->thread.join();
  }
  for (auto& w : impl_->workers) w->abort_all();
}

// One listening socket, bound without SO_REUSEPORT so that a port another process holds is an
// error ("address already in use") instead of the kernel splitting connections between two
// gateways; each worker accepts on its own duplicate of it.
Expected<uint16_t, std::string> Server::listen() {
  auto state = impl_->current_state();
  const auto& sc = state->config.server;
  if (sc.tls.enabled()) {
    auto tls = make_client_tls_context(sc.tls);
    if (!tls) return unexpected(tls.error());
    std::lock_guard lock(impl_->state_mutex);
    impl_->client_tls = std::move(*tls);
    impl_->client_tls_source = client_tls_fingerprint(sc.tls);
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(sc.host == "localhost" ? "127.0.0.1" : sc.host, ec);
  if (ec) return unexpected("invalid listen host '" + sc.host + "': " + ec.message());
  int threads = sc.threads > 0 ? sc.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  tcp::endpoint endpoint(address, sc.port);
  auto fail = [&](const boost::system::error_code& e) {
    return unexpected("cannot listen on " + sc.host + ":" + std::to_string(sc.port) + ": " + e.message());
  };
  for (int i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>(*impl_);
    w->state_ptr = state;
    w->tls_ptr = impl_->client_tls;
    w->state_version = impl_->state_version.load();
    if (i == 0) {
      w->acceptor.open(endpoint.protocol(), ec);
      if (!ec) w->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) w->acceptor.bind(endpoint, ec);
      if (!ec) w->acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return fail(ec);
    } else {
      int fd = ::dup(impl_->workers.front()->acceptor.native_handle());
      if (fd < 0) return fail(boost::system::error_code(errno, boost::system::system_category()));
      w->acceptor.assign(endpoint.protocol(), fd, ec);
      if (ec) return fail(ec);
    }
    impl_->workers.push_back(std::move(w));
  }
  // Signals are taken from here on, before anyone can learn the port: a SIGHUP or SIGTERM sent
  // as soon as the gateway listens waits for run() instead of being lost or ending the process.
  impl_->stop_signals.emplace(impl_->main_io, SIGTERM, SIGINT);
  impl_->stop_signals->async_wait([this](boost::system::error_code ec, int) {
    if (!ec) stop();
  });
  impl_->hangup.emplace(impl_->main_io, SIGHUP);
  wait_for_hangup();
  return impl_->workers.front()->acceptor.local_endpoint().port();
}

// SIGHUP reloads (the file watcher's path); it never ends the process.
void Server::wait_for_hangup() {
  impl_->hangup->async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    observability::log_warning("SIGHUP: reloading the configuration");
    if (impl_->key_refresher) impl_->key_refresher->refresh_now();
    if (impl_->on_reload) impl_->on_reload();
    wait_for_hangup();
  });
}

void Server::set_reload(std::function<void()> reload) { impl_->on_reload = std::move(reload); }

int Server::run() {
  auto& impl = *impl_;
  for (auto& w : impl.workers) {
    w->accept();
    w->sweep_idle();
    w->thread = std::thread([w = w.get()] {
      auto guard = asio::make_work_guard(w->io);  // keep running while idle between connections
      w->io.run();
    });
  }
  auto guard = asio::make_work_guard(impl.main_io);
  impl.main_io.run();
  for (auto& w : impl.workers) {
    w->io.stop();
    if (w->thread.joinable()) w->thread.join();
  }
  return static_cast<int>(impl.streams_cut.load());
}

void Server::set_ledger(std::shared_ptr<storage::UsageLedger> ledger) {
  impl_->registry.governance().set_ledger(ledger);  // budgets start from this period's recorded spend
  impl_->ledger = std::move(ledger);
}

void Server::set_virtual_keys(std::shared_ptr<governance::VirtualKeys> keys) {
  impl_->virtual_keys = keys;
  impl_->key_refresher = std::make_unique<governance::KeyRefresher>(impl_->main_io, std::move(keys));
  impl_->key_refresher->start();
}

void Server::set_admin(std::shared_ptr<admin::AdminWorker> admin) { impl_->admin = std::move(admin); }

std::shared_ptr<const GatewayState> Server::current_state() const { return impl_->current_state(); }

void Server::stop() {
  auto& impl = *impl_;
  asio::post(impl.main_io, [&impl] {
    if (impl.draining.exchange(true)) return;
    for (auto& w : impl.workers) asio::post(w->io, [w = w.get()] { w->drain(); });
    auto grace = impl.current_state()->config.server.shutdown_grace;
    impl.grace_timer = std::make_unique<asio::steady_timer>(impl.main_io, grace);
    impl.grace_timer->async_wait([&impl](boost::system::error_code ec) {
      if (ec || impl.finished.exchange(true)) return;
      // Whatever is still running gets a final error event and a proper end; the loops stop
      // once every worker has done that (Server::run then stops the workers).
      auto pending = std::make_shared<std::atomic<size_t>>(impl.workers.size());
      for (auto& w : impl.workers)
        asio::post(w->io, [w = w.get(), &impl, pending] {
          w->cut_all();
          if (pending->fetch_sub(1) == 1) asio::post(impl.main_io, [&impl] { impl.main_io.stop(); });
        });
    });
    impl.finish_if_drained();
  });
}

ClientTlsContext Server::Impl::reload_client_tls(const ServerTlsConfig& tls) {
  ClientTlsContext current;
  {
    std::lock_guard lock(state_mutex);
    current = client_tls;
  }
  if (!current) {
    if (tls.enabled()) observability::log_warning("server.tls: turning HTTPS on takes effect after a restart");
    return current;
  }
  if (!tls.enabled()) {
    observability::log_warning("server.tls: turning HTTPS off takes effect after a restart; still serving HTTPS");
    return current;
  }
  std::string fingerprint = client_tls_fingerprint(tls);
  if (fingerprint == client_tls_source) return current;
  auto fresh = make_client_tls_context(tls);
  if (!fresh) {
    observability::log_warning("server.tls not reloaded, new connections keep the previous certificate: " +
                               fresh.error());
    return current;
  }
  client_tls_source = std::move(fingerprint);
  observability::log_info("server.tls: certificate reloaded; new connections use it, open ones keep theirs");
  return std::move(*fresh);
}

void Server::update_state(std::shared_ptr<const GatewayState> state) {
  impl_->registry.bind(*state);  // before any worker can see it
  impl_->probes->watch(state);
  auto tls = impl_->reload_client_tls(state->config.server.tls);
  {
    std::lock_guard lock(impl_->state_mutex);
    impl_->state = std::move(state);
    impl_->client_tls = std::move(tls);
  }
  impl_->state_version.fetch_add(1, std::memory_order_release);
}

}  // namespace llmux::server
