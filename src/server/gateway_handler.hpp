// The gateway side of one client connection: admission (CORS preflight, gateway key), dispatch to
// the endpoint handlers, and the lifetime of the request's exchange. Holds nothing of a request
// beyond that request: the exchange is created for it and dropped when its answer is done.
//
// Thread-safety: none; lives on its connection's worker thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "admin/admin_api.hpp"
#include "admin/auth.hpp"
#include "admin/routes.hpp"
#include "server/completion_exchange.hpp"
#include "server/connection.hpp"

namespace llmux::server {

struct Worker;

class GatewayHandler final : public RequestHandler {
 public:
  explicit GatewayHandler(Worker& worker) : worker_(worker) {}

  ConnectionLimits limits() override;
  bool admit(Connection& connection, const http::RequestHead& head) override;
  void on_request(Connection& connection, const http::RequestHead& head) override;
  void on_unreadable(Connection& connection, const Error& error) override;
  void on_request_end(bool client_left) override;
  void on_answer_complete() override;
  void on_writable() override;
  void on_shutdown_cut() override;
  size_t release_idle_memory() override { return exchange_ ? exchange_->release_idle() : scratch_.release_idle(); }

 private:
  // Response header lines every answer to `head` carries (x-request-id, CORS); the id is taken
  // from the client when valid.
  void begin_answer(const http::RequestHead& head);
  void answer_error(Connection& connection, const Error& error);
  void answer(Connection& connection, int status, std::string_view content_type, std::string_view body);
  // The presented key's policy: null when the gateway is open (no config keys, no virtual keys).
  Expected<std::shared_ptr<const governance::KeyPolicy>, Error> check_gateway_key(const GatewayState& state,
                                                                                 const http::RequestHead& head);
  bool metrics_public(const GatewayState& state) const;
  void check_ui_session(const GatewayState& state, const http::RequestHead& head, admin::AdminCheck& check);
  // The dashboard: /ui, /ui/ and /ui/* (src/admin/ui_assets.cpp).
  void answer_ui(Connection& connection, const GatewayState& state, const http::RequestHead& head);
  void answer_preflight(Connection& connection, const GatewayState& state, const http::RequestHead& head);
  // Hands the request to the admin threads; the answer comes back through finish_admin.
  void start_admin(Connection& connection, const http::RequestHead& head, admin::RouteMatch route);
  void finish_admin(Connection& connection, admin::AdminAnswer answer);

  // The current admin request's, while its endpoint runs; it keeps the connection alive as an
  // exchange does (on_request_end or the answer drops it). The admin thread holds only a
  // weak_ptr: a client gone before the answer drops this, and the answer with it.
  struct AdminCall {
    GatewayHandler* handler;
    std::shared_ptr<Connection> connection;
  };

  Worker& worker_;
  ExchangeScratch scratch_;
  std::shared_ptr<CompletionExchange> exchange_;  // the current request's, if it is a completion
  std::shared_ptr<const governance::KeyPolicy> key_;  // the current request's gateway key
  std::shared_ptr<AdminCall> admin_call_;
  std::string admin_id_;  // who asks, on /api/* (audit log): "admin-key …a1b2", "loopback"
  // The current request's id and extra response headers; a completion's exchange takes them.
  std::string request_id_;
  std::string headers_;
  const InboundDialect* dialect_ = nullptr;  // the current request's wire format (its errors' shape)
};

}  // namespace llmux::server
