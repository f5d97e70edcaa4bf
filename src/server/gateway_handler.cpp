#include "server/gateway_handler.hpp"

#include <boost/asio/post.hpp>

#include "admin/admin_worker.hpp"
#include "admin/auth.hpp"
#include "admin/ui_assets.hpp"
#include "core/text.hpp"
#include "providers/anthropic/anthropic_inbound.hpp"
#include "observability/log.hpp"
#include "server/endpoints/endpoints.hpp"
#include "server/http_text.hpp"
#include "server/worker.hpp"

namespace llmux::server {

namespace bhttp = boost::beast::http;

namespace {

std::string_view path_of(std::string_view target) {
  if (size_t q = target.find('?'); q != std::string_view::npos) return target.substr(0, q);
  return target;
}

// The inbound dialect a path speaks; OpenAI's for every other /v1 path.
const InboundDialect& dialect_of(std::string_view path) {
  if (path == "/v1/messages") return anthropic_messages_dialect();
  if (path == "/v1/messages/count_tokens") return anthropic_count_tokens_dialect();
  return openai_chat_dialect();
}

bool needs_gateway_key(std::string_view path) { return path.starts_with("/v1/") || path.starts_with("/api/"); }
bool is_admin_path(std::string_view path) { return path.starts_with("/api/"); }

// A body whose type says JSON, or says nothing, or is what `curl -d` claims (form-encoded) is
// read as JSON; a body that is not JSON then gets the parser's 400. Other types are refused.
bool acceptable_body_type(std::string_view content_type) {
  return content_type.empty() || istarts_with(content_type, "application/json") ||
         istarts_with(content_type, "application/x-www-form-urlencoded");
}

const CorsConfig* cors_for(const GatewayState& state, std::string_view origin) {
  const auto& cors = state.config.server.cors;
  if (origin.empty() || cors.origins.empty()) return nullptr;
  for (const auto& allowed : cors.origins)
    if (allowed == "*" || iequals(allowed, origin)) return &cors;
  return nullptr;
}

}  // namespace

ConnectionLimits GatewayHandler::limits() {
  const auto& server = worker_.state()->config.server;
  return {server.max_body_bytes, server.write_timeout};
}

void GatewayHandler::begin_answer(const http::RequestHead& head) {
  dialect_ = &dialect_of(path_of(head.target));
  if (valid_request_id(head.request_id)) request_id_.assign(head.request_id);
  else generate_request_id(request_id_);
  headers_.assign("x-request-id: ");
  headers_ += request_id_;
  headers_ += "\r\n";
  const auto& state = *worker_.state();
  if (const auto* cors = cors_for(state, head.origin)) {
    headers_ += "Access-Control-Allow-Origin: ";
    headers_ += cors->origins.front() == "*" && cors->origins.size() == 1 ? std::string_view("*")
                                                                           : std::string_view(head.origin);
    headers_ += "\r\nAccess-Control-Expose-Headers: x-request-id, Retry-After\r\nVary: Origin\r\n";
  }
}

bool GatewayHandler::admit(Connection& connection, const http::RequestHead& head) {
  begin_answer(head);
  key_.reset();
  const auto& state = *worker_.state();
  if (worker_.server.draining.load(std::memory_order_relaxed)) connection.close_after_response();
  std::string_view path = path_of(head.target);
  // A browser's preflight carries no credentials by design: it is answered before the key check.
  if (head.method == bhttp::verb::options) {
    answer_preflight(connection, state, head);
    return false;
  }
  key_.reset();
  admin_id_.clear();
  if (is_admin_path(path)) {
    auto check = admin::check_admin(state.config, head.authorization);
    if (check.outcome == admin::AdminCheck::Outcome::refused && head.authorization.empty()) check_ui_session(state, head, check);
    if (check.outcome == admin::AdminCheck::Outcome::refused) {
      answer_error(connection, check.error);
      return false;
    }
    admin_id_ = std::move(check.admin_id);
    if (check.outcome == admin::AdminCheck::Outcome::admitted) return true;
  }
  bool keyed = needs_gateway_key(path) || (path == "/metrics" && !metrics_public(state));
  if (!keyed) return true;
  auto key = check_gateway_key(state, head);
  if (!key) {
    answer_error(connection, key.error());
    return false;
  }
  if (*key && (*key)->virtual_key && !path.starts_with("/v1/")) {
    answer_error(connection, Error::make(ErrorKind::permission,
                                         "the virtual key '" + (*key)->name + "' may call the /v1 API only; " +
                                             std::string(path) + " needs master_key or a key from api_keys in the llmux config",
                                         {}, "virtual_key_not_allowed"));
    return false;
  }
  key_ = std::move(*key);
  return true;
}

void GatewayHandler::answer_preflight(Connection& connection, const GatewayState& state,
                                      const http::RequestHead& head) {
  std::string headers = headers_;
  headers += "Allow: GET, POST, OPTIONS\r\n";
  if (const auto* cors = cors_for(state, head.origin)) {
    headers += "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\nAccess-Control-Allow-Headers: ";
    headers += cors->headers;
    headers += "\r\nAccess-Control-Max-Age: " + std::to_string(cors->max_age.count()) + "\r\n";
  }
  connection.respond(204, {}, {}, headers);
}

void GatewayHandler::on_request(Connection& connection, const http::RequestHead& head) {
  auto state = worker_.state();
  std::string_view path = path_of(head.target);
  auto method = head.method;
  bool get = method == bhttp::verb::get || method == bhttp::verb::head;

  if (path == "/healthz" || path == "/readyz") {
    auto health = health_answer(path == "/readyz", worker_.server.draining.load());
    return answer(connection, health.status, health.content_type, health.body);
  }
  if (path == "/metrics" && get)
    return answer(connection, 200, "text/plain; version=0.0.4; charset=utf-8", metrics_text(worker_.server));
  if (path == "/ui" || path.starts_with("/ui/")) return answer_ui(connection, *state, head);
  if (!needs_gateway_key(path))
    return answer_error(connection, Error::make(ErrorKind::not_found, "no route for " + std::string(path), {}, "unknown_url"));

  if (const auto& dialect = dialect_of(path); dialect.native_api()) {
    if (method != bhttp::verb::post) return answer_error(connection, method_not_allowed("POST"));
    if (!acceptable_body_type(head.content_type))
      return answer_error(connection, Error::make(ErrorKind::unsupported_media_type,
                                                  "Content-Type must be application/json (got '" +
                                                      std::string(head.content_type) + "')",
                                                  {}, "unsupported_media_type"));
    if (!providers::accepted_anthropic_version(head.anthropic_version))
      return answer_error(connection, providers::anthropic_version_error(head.anthropic_version));
    auto exchange = std::allocate_shared<CompletionExchange>(
        PoolAllocator<CompletionExchange>(worker_.exchange_blocks), worker_, connection.shared_from_this(), state,
        scratch_, providers::Endpoint::chat_completions, head, request_id_, headers_, key_, dialect);
    exchange_ = exchange;
    return exchange->start();
  }
  if (auto endpoint = completion_endpoint(path)) {
    if (method != bhttp::verb::post) return answer_error(connection, method_not_allowed("POST"));
    if (!acceptable_body_type(head.content_type))
      return answer_error(connection, Error::make(ErrorKind::unsupported_media_type,
                                                  "Content-Type must be application/json (got '" +
                                                      std::string(head.content_type) + "')",
                                                  {}, "unsupported_media_type"));
    auto exchange = std::allocate_shared<CompletionExchange>(PoolAllocator<CompletionExchange>(worker_.exchange_blocks),
                                                             worker_, connection.shared_from_this(), state, scratch_,
                                                             *endpoint, head, request_id_, headers_, key_);
    exchange_ = exchange;
    return exchange->start();  // `exchange` keeps it alive if it answers at once
  }
  if (path == "/v1/models" || path.starts_with("/v1/models/")) {
    if (!get) return answer_error(connection, method_not_allowed("GET"));
    if (path == "/v1/models") {
      if (key_ && !key_->models.empty()) return answer(connection, 200, "application/json", models_json_for(*state, *key_));
      return answer(connection, 200, "application/json", state->models_json);
    }
    auto model = model_json(*state, path.substr(std::string_view("/v1/models/").size()), key_.get());
    if (!model) return answer_error(connection, model.error());
    return answer(connection, 200, "application/json", *model);
  }
  if (path == "/api/usage" && get) {
    auto usage = worker_.server.usage_json(head.target);
    if (!usage) return answer_error(connection, usage.error());
    return answer(connection, 200, "application/json", *usage);
  }
  auto* admin_worker = worker_.server.admin.get();
  if (path == "/api/providers/health" || (path == "/api/providers" && !admin_worker)) {
    if (!get) return answer_error(connection, method_not_allowed("GET"));
    return answer(connection, 200, "application/json",
                  path == "/api/providers" ? providers_json(*state) : providers_health_json(*state));
  }
  if (constexpr std::string_view kPrefix = "/api/providers/", kSuffix = "/metrics";
      path.starts_with(kPrefix) && path.ends_with(kSuffix) && path.size() > kPrefix.size() + kSuffix.size()) {
    if (!get) return answer_error(connection, method_not_allowed("GET"));
    auto metrics = provider_metrics_answer(*state, path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()));
    if (!metrics) return answer_error(connection, metrics.error());
    return answer(connection, 200, "application/json", *metrics);
  }
  if (admin_worker && is_admin_path(path)) {
    auto route = admin::match_route(method, path);
    if (route.endpoint) {
      if (!head.body.empty() && !acceptable_body_type(head.content_type))
        return answer_error(connection, Error::make(ErrorKind::unsupported_media_type,
                                                    "Content-Type must be application/json (got '" +
                                                        std::string(head.content_type) + "')",
                                                    {}, "unsupported_media_type"));
      return start_admin(connection, head, std::move(route));
    }
    if (!route.allowed.empty()) return answer_error(connection, method_not_allowed(route.allowed.c_str()));
  }
  answer_error(connection, Error::make(ErrorKind::not_found, "no route for " + std::string(path), {}, "unknown_url"));
}

void GatewayHandler::answer_ui(Connection& connection, const GatewayState& state, const http::RequestHead& head) {
  admin::UiRequest request{head.method,        path_of(head.target), head.cookie,       head.if_none_match,
                           head.origin,        head.host,            head.content_type, head.body,
                           state.config.server.tls.enabled()};
  auto gate = admin::admin_gate(state.config);
  admin::UiAccess access{gate == admin::AdminGate::key ? state.config.admin_auth.key->reveal() : std::string_view(),
                         gate == admin::AdminGate::loopback};
  auto ui = admin::ui_answer(request, access, worker_.server.ui_sessions);
  headers_ += ui.headers;
  connection.respond(ui.status, ui.content_type, ui.body, headers_);
}

// The dashboard's session cookie opens /api/* in place of the admin key (src/admin/ui_sessions.hpp).
void GatewayHandler::check_ui_session(const GatewayState& state, const http::RequestHead& head, admin::AdminCheck& check) {
  if (head.cookie.empty() || admin::admin_gate(state.config) != admin::AdminGate::key) return;
  bool write = head.method != bhttp::verb::get && head.method != bhttp::verb::head;
  auto auth = worker_.server.ui_sessions.check_api({head.cookie, head.origin, head.host, write, state.config.server.tls.enabled()},
                                                   state.config.admin_auth.key->reveal(), &check.admin_id);
  if (auth == admin::UiSessions::ApiAuth::admitted) check.outcome = admin::AdminCheck::Outcome::admitted;
  else if (auth == admin::UiSessions::ApiAuth::cross_origin)
    check.error = Error::make(ErrorKind::permission,
                              "a change through the dashboard's session must come from the dashboard's own origin",
                              {}, "cross_origin_write");
}

void GatewayHandler::start_admin(Connection& connection, const http::RequestHead& head, admin::RouteMatch route) {
  admin::AdminRequest request;
  request.method = head.method == bhttp::verb::head ? bhttp::verb::get : head.method;
  std::string_view target = head.target;
  size_t q = target.find('?');
  request.path.assign(target.substr(0, q));
  if (q != std::string_view::npos) request.query.assign(target.substr(q + 1));
  request.body = head.body;
  request.if_match = head.if_match;
  request.admin_id = admin_id_;
  request.params = std::move(route.params);
  auto call = std::make_shared<AdminCall>(AdminCall{this, connection.shared_from_this()});
  admin_call_ = call;
  std::weak_ptr<AdminCall> pending = call;
  auto& io = worker_.io;
  worker_.server.admin->submit(route.endpoint, std::move(request), [pending, &io](admin::AdminAnswer answer) {
    boost::asio::post(io, [pending, answer = std::move(answer)]() mutable {
      if (auto call = pending.lock()) call->handler->finish_admin(*call->connection, std::move(answer));
    });
  });
}

void GatewayHandler::finish_admin(Connection& connection, admin::AdminAnswer answer) {
  admin_call_.reset();
  if (answer.status >= 400)
    observability::log_warning("request " + request_id_ + " rejected: " + std::to_string(answer.status) + " (admin API)");
  std::string headers = headers_;
  headers += answer.headers;
  connection.respond(answer.status, answer.content_type, answer.body, headers);
}

void GatewayHandler::on_unreadable(Connection& connection, const Error& error) {
  http::RequestHead none;
  begin_answer(none);
  answer_error(connection, error);
}

void GatewayHandler::answer(Connection& connection, int status, std::string_view content_type, std::string_view body) {
  connection.respond(status, content_type, body, headers_);
}

void GatewayHandler::answer_error(Connection& connection, const Error& error) {
  const auto& dialect = dialect_ ? *dialect_ : openai_chat_dialect();
  server::answer_error(connection, error, request_id_, headers_, dialect.error_json(error));
}

void GatewayHandler::on_request_end(bool client_left) {
  admin_call_.reset();
  if (auto exchange = std::move(exchange_)) exchange->end(client_left);
}

void GatewayHandler::on_answer_complete() {
  if (exchange_) exchange_->account(false);
}

void GatewayHandler::on_writable() {
  if (auto exchange = exchange_) exchange->resume_output();
}

void GatewayHandler::on_shutdown_cut() {
  if (auto exchange = exchange_) {
    worker_.server.streams_cut.fetch_add(1, std::memory_order_relaxed);
    exchange->cut_for_shutdown();
  }
}

Expected<std::shared_ptr<const governance::KeyPolicy>, Error> GatewayHandler::check_gateway_key(
    const GatewayState& state, const http::RequestHead& head) {
  const auto& config = state.config;
  const auto* virtual_keys = worker_.server.virtual_keys.get();
  const governance::KeySnapshot* snapshot = virtual_keys ? &worker_.key_reader.get(virtual_keys->snapshots()) : nullptr;
  // A stored key, even a revoked one, closes the gateway: revoking the last key must not open it.
  bool stored_keys = snapshot && snapshot->size() > 0;
  if (!config.master_key && config.api_keys.empty() && !stored_keys) return nullptr;
  std::string_view auth = head.authorization;
  std::string_view key;
  if (istarts_with(auth, "bearer ")) key = auth.substr(7);
  if (key.empty()) key = head.x_api_key;  // Anthropic's clients send their key so
  if (key.empty()) {
    return unexpected(Error::make(ErrorKind::authentication,
                                  "missing gateway key: send 'Authorization: Bearer <key>' (a key from "
                                  "master_key or api_keys in the llmux config, or from `llmux keys create`)",
                                  {}, "missing_api_key"));
  }
  const auto& governance = *state.governance;  // the config keys' policies (limits, budgets)
  if (config.master_key && config.master_key->equals(key)) return governance.master_policy();
  for (size_t i = 0; i < config.api_keys.size(); ++i)
    if (config.api_keys[i].equals(key)) return governance.api_key_policy(i);
  if (stored_keys && governance::is_virtual_key(key))
    return governance::check_virtual_key(*snapshot, key, governance::unix_now_ms());
  return unexpected(Error::make(ErrorKind::authentication, "invalid gateway key", {}, "invalid_api_key"));
}

// metrics.public unset: public when the gateway listens on loopback only, where whoever can
// scrape it can reach the process anyway.
bool GatewayHandler::metrics_public(const GatewayState& state) const {
  if (state.config.metrics.public_access) return *state.config.metrics.public_access;
  return is_loopback_host(state.config.server.host);
}

}  // namespace llmux::server
