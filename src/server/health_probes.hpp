// Health probes of the providers and the alerts.webhook POSTs, run on one io_context that no
// worker uses (the server's main one): a probe or a slow webhook never delays a request.
//
// Each provider is probed every router.health.interval (0 = never) with its model listing, or
// GET {base_url}{router.health.path} when a path is configured, within router.health.timeout and
// with the provider's own credential headers. A 2xx answer is a success. Results go to the
// snapshot's HealthMonitor and breakers (router::ProbeScheduler). A reload starts probing the
// new snapshot's providers; probes of the old one still in flight finish into the same shared
// records (RouterRegistry).
//
// A webhook POST is sent once (never retried), with a short timeout; a failure is logged with
// the URL's scheme, host and port only (its path and userinfo may hold a token).
//
// Thread-safety: watch() and alert() may be called from any thread (they post to the io_context);
// everything else runs on the io_context's thread. Destroy it on that thread, or after it stopped.
#pragma once

#include <chrono>
#include <list>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "http/upstream.hpp"
#include "router/health.hpp"
#include "server/gateway_state.hpp"

namespace llmux::server {

inline constexpr std::chrono::milliseconds kWebhookTimeout{5000};

// "https://hooks.example.com:8443" of "https://user:pw@hooks.example.com:8443/T0/secret".
std::string url_origin(std::string_view url);

class HealthProbes {
 public:
  explicit HealthProbes(boost::asio::io_context& io);
  ~HealthProbes();
  HealthProbes(const HealthProbes&) = delete;
  HealthProbes& operator=(const HealthProbes&) = delete;

  // Probes `state`'s providers from now on, instead of the previous snapshot's.
  void watch(std::shared_ptr<const GatewayState> state);
  // POSTs the event to the current snapshot's alerts.webhook, if one is configured.
  void alert(const router::HealthEvent& event);
  // POSTs a JSON body (a budget alert) to the current snapshot's alerts.webhook, if any.
  void post_json(std::string body);

 private:
  struct Run;
  class Transfer;

  void start_watching(std::shared_ptr<const GatewayState> state);
  void schedule();
  void probe(const std::shared_ptr<Run>& run, size_t index, router::ProbeScheduler::Done done);
  void post_alert(const std::string& url, std::string body);
  Transfer& start(std::unique_ptr<Transfer> transfer);
  void finished(Transfer* transfer);

  boost::asio::io_context& io_;
  http::UpstreamClient client_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<Run> run_;
  std::list<std::unique_ptr<Transfer>> transfers_;  // in flight
};

}  // namespace llmux::server
