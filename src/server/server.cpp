#include "server/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <cstring>
#include <ctime>
#include <list>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "core/text.hpp"
#include "http/asio_types.hpp"
#include "http/message_parsers.hpp"
#include "http/sse.hpp"
#include "http/upstream.hpp"
#include "json/request_view.hpp"
#include "observability/metrics.hpp"
#include "providers/openai_output.hpp"

namespace llmux::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kPauseUpstreamAbove = 1 << 20;  // bytes queued for a slow client
constexpr size_t kMaxErrorBody = 1 << 20;
// A typical request (headers and a few KB of JSON) arrives in one read.
constexpr size_t kReadBufferBytes = 16 * 1024;

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

// Path parameters arrive percent-encoded ("fake%2Ffake-model" from the openai npm package).
std::string percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

// Writes into `id`, reusing its storage (a connection keeps one id string for all its requests).
void generate_request_id(std::string& id) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  uint64_t a = rng(), b = rng();
  id.resize(4 + 24);
  char* out = id.data();
  std::memcpy(out, "req_", 4);
  for (int i = 0; i < 16; ++i) out[4 + i] = hex[(a >> (i * 4)) & 15];
  for (int i = 0; i < 8; ++i) out[20 + i] = hex[(b >> (i * 4)) & 15];
}

}  // namespace

// ------------------------------------------------------------------------------------------------

struct Worker;

struct Server::Impl {
  explicit Impl(std::shared_ptr<const GatewayState> s) : state(std::move(s)) {}

  std::shared_ptr<const GatewayState> current_state() {
    std::lock_guard lock(state_mutex);
    return state;
  }

  void finish_if_drained();

  std::mutex state_mutex;  // guards `state` (read by workers only when state_version moves)
  std::shared_ptr<const GatewayState> state;
  std::atomic<uint64_t> state_version{1};

  std::vector<std::unique_ptr<Worker>> workers;
  asio::io_context main_io{1};
  std::atomic<bool> draining{false};
  std::atomic<int64_t> live_sessions{0};
  std::atomic<bool> finished{false};
  std::unique_ptr<asio::steady_timer> grace_timer;
  observability::Metrics metrics;
  std::map<std::string, UsageTotals> usage;  // entries are never removed: pointers stay valid
  std::mutex usage_mutex;                    // guards the map's shape, not the counters

  UsageTotals& usage_for(const std::string& provider) {
    std::lock_guard lock(usage_mutex);
    return usage[provider];
  }
  std::string usage_json() {
    boost::json::object providers;
    std::lock_guard lock(usage_mutex);
    for (auto& [id, u] : usage) {
      boost::json::object o;
      o["requests"] = u.requests.load(std::memory_order_relaxed);
      o["prompt_tokens"] = u.prompt_tokens.load(std::memory_order_relaxed);
      o["completion_tokens"] = u.completion_tokens.load(std::memory_order_relaxed);
      providers[id] = std::move(o);
    }
    boost::json::object out;
    out["providers"] = std::move(providers);
    return boost::json::serialize(out);
  }
};

class Session;

struct Worker {
  Worker(Server::Impl& server)
      : server(server), metrics(server.metrics.add_shard()), acceptor(io.get_executor()), upstream(io) {}

  const GatewayState& state() {
    uint64_t v = server.state_version.load(std::memory_order_acquire);
    if (v != state_version) {
      state_ptr = server.current_state();
      state_version = v;
    }
    return *state_ptr;
  }

  void accept();
  void drain();
  void sweep_idle();  // closes connections stalled past server.idle_timeout, once a second
  void abort_all();  // only after the worker's thread has stopped
  std::vector<std::shared_ptr<Session>> live_sessions();

  // Worker-local cache so the shared map's mutex is taken once per provider, not per request.
  UsageTotals& usage_for(const std::string& provider) {
    auto it = usage_cache.find(provider);
    if (it == usage_cache.end()) it = usage_cache.emplace(provider, &server.usage_for(provider)).first;
    return *it->second;
  }
  std::unordered_map<std::string, UsageTotals*> usage_cache;

  Server::Impl& server;
  observability::MetricsShard& metrics;  // this worker's; recorded into from its thread only
  // One thread runs this context and owns every socket on it, so the reactor needs no locks;
  // other threads only post to it (drain, stop), which stays locked.
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  http::TcpAcceptor acceptor;
  http::UpstreamClient upstream;
  std::thread thread;
  std::shared_ptr<const GatewayState> state_ptr;
  uint64_t state_version = 0;
  std::list<std::weak_ptr<Session>> sessions;  // for draining; touched only on this thread
  asio::steady_timer idle_timer{io};
};

// ------------------------------------------------------------------------------------------------
// One client connection. Lives on its worker's thread only.

class Session : public std::enable_shared_from_this<Session>, public http::UpstreamHandler {
 public:
  Session(Worker& worker, http::TcpSocket socket) : worker_(worker), socket_(std::move(socket)) {
    worker_.server.live_sessions.fetch_add(1, std::memory_order_relaxed);
  }
  ~Session() override {
    if (transfer_) worker_.upstream.cancel(transfer_);
    worker_.sessions.erase(self_entry_);
    if (worker_.server.live_sessions.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
        worker_.server.draining.load())
      asio::post(worker_.server.main_io, [s = &worker_.server] { s->finish_if_drained(); });
  }

  void start() {
    buffer_.reserve(kReadBufferBytes);
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);  // flush() writes directly and must never block
    worker_.sessions.push_front(weak_from_this());
    self_entry_ = worker_.sessions.begin();
    read_request();
  }

  // Called once the loop has stopped for good: drops the upstream transfer, the self-reference
  // and pending waits so the session can be destroyed while its worker is still alive.
  void abort() {
    if (transfer_) {
      worker_.upstream.cancel(transfer_);
      transfer_ = 0;
    }
    if (retry_timer_) retry_timer_->cancel();
    holder_.reset();
    boost::system::error_code ec;
    socket_.close(ec);
  }

  // True when the connection has waited longer than `limit` for a complete request.
  bool stalled(Clock::time_point now, std::chrono::milliseconds limit) const {
    return idle_ && now - waiting_since_ > limit;
  }

  // Called on drain: idle connections close now, busy ones after their response.
  void drain() {
    if (idle_) {
      boost::system::error_code ec;
      socket_.shutdown(tcp::socket::shutdown_both, ec);
      socket_.close(ec);
    }
  }

 private:
  // --- reading ---------------------------------------------------------------------------------

  void read_request() {
    idle_ = true;
    waiting_since_ = Clock::now();
    head_.clear();
    parser_.emplace(head_);
    parser_->header_limit(64 * 1024);
    parser_->body_limit(worker_.state().config.server.max_body_bytes);
    parse_request();
  }

  // Feeds what is buffered to the parser; reads more from the socket only when it needs more.
  // The head is parsed on its own first (eager off) so "Expect: 100-continue" can be answered
  // before the client sends the body.
  void parse_request() {
    while (buffer_.size() > 0 && !parser_->is_done()) {
      beast::error_code ec;
      size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) break;
      if (ec) return on_read(ec);
      if (parser_->is_header_done() && !parser_->eager()) {
        parser_->eager(true);
        if (!parser_->is_done() && iequals(head_.expect, "100-continue")) return send_continue();
      }
      if (used == 0) break;
    }
    if (parser_->is_done()) return on_read({});
    read_more();
  }

  // Clients such as curl send "Expect: 100-continue" before a large body and wait (curl: 1 s)
  // for the interim response; answering it keeps that wait off the request's latency.
  void send_continue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->close();
                        self->parse_request();
                      });
  }

  void read_more() {
    size_t room = buffer_.capacity() - buffer_.size();
    auto space = buffer_.prepare(room >= 2048 ? room : kReadBufferBytes);
    socket_.async_read_some(space, [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->on_read(ec);
      self->buffer_.commit(n);
      self->parse_request();
    });
  }

  void on_read(beast::error_code ec) {
    idle_ = false;
    if (ec == bhttp::error::body_limit) {
      keep_alive_ = false;
      generate_request_id(request_id_);
      auto limit = worker_.state().config.server.max_body_bytes;
      return send_error(Error::make(ErrorKind::payload_too_large,
                                    "request body exceeds the limit of " + std::to_string(limit) +
                                        " bytes (server.max_body_size)",
                                    {}, "request_too_large"));
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::bad_descriptor)
      return close();
    if (ec == bhttp::error::header_limit) {
      keep_alive_ = false;
      generate_request_id(request_id_);
      Error e = Error::make(ErrorKind::invalid_request, "request header exceeds 64 KiB", {}, "request_header_too_large");
      e.http_status = 431;
      return send_error(e);
    }
    if (ec) {
      keep_alive_ = false;
      generate_request_id(request_id_);
      return send_error(Error::make(ErrorKind::invalid_request, "malformed HTTP request: " + ec.message()));
    }
    state_ = worker_.state_ptr;  // keep this snapshot for the whole request
    handle_request();
  }

  // --- routing ---------------------------------------------------------------------------------

  void handle_request() {
    keep_alive_ = parser_->keep_alive() && !worker_.server.draining.load(std::memory_order_relaxed);
    if (valid_request_id(head_.request_id)) request_id_ = head_.request_id;
    else generate_request_id(request_id_);

    std::string_view target = head_.target;
    if (size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    auto method = head_.method;

    if (target == "/healthz") return send_json(200, R"({"status":"ok"})");
    if (target == "/metrics" && method == bhttp::verb::get)
      return send_response(200, "text/plain; version=0.0.4; charset=utf-8", worker_.server.metrics.render());
    if (target == "/readyz") {
      if (worker_.server.draining.load()) return send_json(503, R"({"status":"draining"})");
      return send_json(200, R"({"status":"ready"})");
    }
    bool api = target.starts_with("/v1/") || target.starts_with("/api/");
    if (!api)
      return send_error(Error::make(ErrorKind::not_found, "no route for " + std::string(target), {}, "unknown_url"));
    if (auto denied = check_gateway_key(); denied) return send_error(*denied);

    if (target == "/v1/chat/completions" || target == "/v1/completions" || target == "/v1/embeddings") {
      if (method != bhttp::verb::post) return method_not_allowed("POST");
      endpoint_ = target == "/v1/chat/completions" ? providers::Endpoint::chat_completions
                  : target == "/v1/completions"    ? providers::Endpoint::completions
                                                   : providers::Endpoint::embeddings;
      return handle_completion();
    }
    if (target == "/v1/models") {
      if (method != bhttp::verb::get) return method_not_allowed("GET");
      return send_json(200, state_->models_json);
    }
    if (target.starts_with("/v1/models/")) {
      if (method != bhttp::verb::get) return method_not_allowed("GET");
      std::string id = percent_decode(target.substr(11));
      const auto* listed = state_->catalog->find_listed(id);
      if (!listed) {
        std::string message = "model '" + std::string(id) + "' not found";
        auto close = state_->catalog->close_matches(id);
        if (!close.empty()) {
          message += "; did you mean: ";
          for (size_t i = 0; i < close.size(); ++i) message += (i ? ", " : "") + close[i];
        }
        return send_error(Error::make(ErrorKind::not_found, message, "model", "model_not_found"));
      }
      return send_json(200, model_object_json(*listed));
    }
    if (target == "/api/usage" && method == bhttp::verb::get) return send_json(200, worker_.server.usage_json());
    return send_error(Error::make(ErrorKind::not_found, "no route for " + std::string(target), {}, "unknown_url"));
  }

  void method_not_allowed(const char* allowed) {
    Error e = Error::make(ErrorKind::invalid_request,
                          "method not allowed; use " + std::string(allowed), {}, "method_not_allowed");
    e.http_status = 405;
    send_error(e);
  }

  std::optional<Error> check_gateway_key() {
    const auto& config = state_->config;
    if (!config.master_key && config.api_keys.empty()) return std::nullopt;
    std::string_view auth = head_.authorization;
    std::string_view key;
    if (istarts_with(auth, "bearer ")) key = auth.substr(7);
    if (key.empty()) {
      return Error::make(ErrorKind::authentication,
                         "missing gateway key: send 'Authorization: Bearer <key>' (a key from "
                         "master_key or api_keys in the llmux config)",
                         {}, "missing_api_key");
    }
    bool ok = config.master_key && config.master_key->equals(key);
    for (const auto& k : config.api_keys) ok = ok || k.equals(key);
    if (!ok) return Error::make(ErrorKind::authentication, "invalid gateway key", {}, "invalid_api_key");
    return std::nullopt;
  }

  // --- completions -----------------------------------------------------------------------------

  void handle_completion() {
    metered_ = true;
    request_start_ = Clock::now();
    resolution_.provider = nullptr;
    resolution_.model = nullptr;
    std::string_view content_type = head_.content_type;
    if (!istarts_with(content_type, "application/json"))
      return send_error(Error::make(ErrorKind::unsupported_media_type,
                                    "Content-Type must be application/json (got '" +
                                        std::string(content_type.empty() ? "none" : content_type) + "')",
                                    {}, "unsupported_media_type"));
    std::string_view body = head_.body;
    if (auto read = json::read_request(body, fields_); !read) return send_error(read.error());

    if (auto invalid = validate_fields(); invalid) return send_error(*invalid);

    std::string_view provider_header = head_.provider;
    auto resolved = state_->catalog->resolve(fields_.model, provider_header);
    if (!resolved) return send_error(resolved.error());
    resolution_ = std::move(resolved.value());

    if (fields_.max_tokens && resolution_.model && resolution_.model->context_window &&
        *fields_.max_tokens > *resolution_.model->context_window) {
      return send_error(Error::make(
          ErrorKind::invalid_request,
          std::string("'") + fields_.max_tokens_key + "' (" + std::to_string(*fields_.max_tokens) +
              ") exceeds the context window of model '" + resolution_.model->id + "' (" +
              std::to_string(*resolution_.model->context_window) + " tokens)",
          fields_.max_tokens_key, "context_length_exceeded"));
    }

    stream_ = fields_.stream && endpoint_ != providers::Endpoint::embeddings;
    decoder_ = decoder_for(*resolution_.provider);
    if (decoder_) created_ = static_cast<int64_t>(std::time(nullptr));  // only translated answers carry it
    providers::EncodeInput input{endpoint_, body, &fields_, resolution_.upstream_model, request_id_, stream_};
    if (auto encoded = resolution_.provider->encode_into(input, upstream_request_); !encoded)
      return send_error(encoded.error());
    attempt_ = 0;
    start_upstream();
  }

  std::optional<Error> validate_fields() {
    using json::JsonType;
    if (fields_.model_type != JsonType::absent && fields_.model_type != JsonType::string)
      return Error::make(ErrorKind::invalid_request, "'model' must be a string", "model", "invalid_type");
    switch (endpoint_) {
      case providers::Endpoint::chat_completions:
        if (fields_.messages_type == JsonType::absent)
          return Error::make(ErrorKind::invalid_request, "'messages' is required", "messages", "missing_required_parameter");
        if (fields_.messages_type != JsonType::array)
          return Error::make(ErrorKind::invalid_request, "'messages' must be an array", "messages", "invalid_type");
        if (fields_.message_count == 0)
          return Error::make(ErrorKind::invalid_request, "'messages' must contain at least one message", "messages", "empty_array");
        break;
      case providers::Endpoint::completions:
        if (fields_.prompt_type == JsonType::absent)
          return Error::make(ErrorKind::invalid_request, "'prompt' is required", "prompt", "missing_required_parameter");
        if (fields_.prompt_type != JsonType::string && fields_.prompt_type != JsonType::array)
          return Error::make(ErrorKind::invalid_request, "'prompt' must be a string or an array", "prompt", "invalid_type");
        break;
      case providers::Endpoint::embeddings:
        if (fields_.input_type == JsonType::absent)
          return Error::make(ErrorKind::invalid_request, "'input' is required", "input", "missing_required_parameter");
        if (fields_.input_type != JsonType::string && fields_.input_type != JsonType::array)
          return Error::make(ErrorKind::invalid_request, "'input' must be a string or an array", "input", "invalid_type");
        if (fields_.input_type == JsonType::array && fields_.input_count == 0)
          return Error::make(ErrorKind::invalid_request, "'input' must not be empty", "input", "empty_array");
        break;
      case providers::Endpoint::models: break;
    }
    return std::nullopt;
  }

  // The connection keeps the decoder of the last provider type it used: a decoder holds parse
  // buffers that are reused from one response to the next.
  providers::ResponseDecoder* decoder_for(const providers::Provider& provider) {
    const std::string& type = provider.config().type;
    if (!decoder_storage_ || decoder_type_ != type) {
      decoder_storage_ = provider.make_response_decoder();
      decoder_type_ = type;
    }
    return decoder_storage_.get();
  }

  void start_upstream() {
    status_ = 0;
    upstream_body_.clear();
    saw_done_ = false;
    sse_.reset();
    if (decoder_) {
      decoder_->reset();
      chunk_writer_.begin(&translated_, created_, fields_.include_usage);
    }
    transfer_ = worker_.upstream.start(upstream_request_, this);
    holder_ = shared_from_this();  // alive while the transfer runs
  }

  // UpstreamHandler -------------------------------------------------------------------------------

  void on_headers(int status, std::string_view content_type, std::string_view retry_after) override {
    status_ = status;
    retry_after_ = retry_after;
    upstream_content_type_ = content_type;
    if (status >= 200 && status < 300 && stream_) {
      streaming_ = true;
      response_status_ = 200;
      queue("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            "Transfer-Encoding: chunked\r\nx-request-id: ");
      queue(request_id_);
      queue(keep_alive_ ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
    }
  }

  bool on_body(std::string_view bytes) override {
    if (!streaming_) {
      if (status_ < 200 || status_ >= 300) {
        if (upstream_body_.size() < kMaxErrorBody) upstream_body_.append(bytes);
      } else {
        upstream_body_.append(bytes);
      }
      return true;
    }
    if (decoder_) {
      translate_stream(bytes);
    } else {
      // Forward as received: no re-framing, no waiting for event boundaries. An empty piece would
      // be the chunked encoding's last chunk.
      if (!bytes.empty()) queue_chunk(bytes);
      sse_.feed(bytes, [this](const http::SseEvent& e) {
        if (e.data == "[DONE]") {
          saw_done_ = true;
        } else if (json::has_usage_object(e.data)) {
          if (auto u = json::read_usage(e.data)) usage_ = *u;
        }
        return true;
      });
    }
    schedule_flush();
    if (pending_.size() > kPauseUpstreamAbove) {
      paused_ = true;
      return false;
    }
    return true;
  }

  // Events of one upstream read leave as one chunk of OpenAI events.
  void translate_stream(std::string_view bytes) {
    sse_.feed(bytes, [this](const http::SseEvent& e) {
      if (chunk_writer_.ended()) return false;
      if (auto decoded = decoder_->decode_event(e, chunk_writer_); !decoded) {
        Error error = std::move(decoded).error();
        error.message = "provider '" + resolution_.provider->id() + "': " + error.message;
        chunk_writer_.fail(error);
      }
      return true;
    });
    if (!translated_.empty()) {
      queue_chunk(translated_);
      translated_.clear();
    }
  }

  void on_complete(const http::TransferResult& result) override {
    transfer_ = 0;
    auto self = std::move(holder_);  // keep alive through this function
    const auto& provider = *resolution_.provider;
    const std::string& url = upstream_request_.url;
    if (streaming_) {
      bool ended = decoder_ ? chunk_writer_.ended() : saw_done_ && result.failure == http::TransferFailure::none;
      if (!ended) {
        std::string why = result.failure == http::TransferFailure::timeout
                              ? "stopped sending for " + providers::format_duration(upstream_request_.timeout)
                          : result.failure != http::TransferFailure::none
                              ? "broke off: " + result.detail
                              : "ended before [DONE]";
        Error e = Error::make(ErrorKind::upstream_error,
                              "stream from provider '" + provider.id() + "' (" + url + ") " + why);
        queue_chunk("data: " + to_openai_json(e) + "\n\n");
      }
      if (decoder_) usage_ = chunk_writer_.usage();
      queue("0\r\n\r\n");
      stream_finished_ = true;
      schedule_flush();
      record_usage();
      return;
    }
    if (result.failure != http::TransferFailure::none) {
      if (result.failure != http::TransferFailure::timeout && should_retry(0)) return retry();
      return send_error(providers::transfer_error(provider, url, result, upstream_request_.timeout));
    }
    if (status_ < 200 || status_ >= 300) {
      if (should_retry(status_)) return retry();
      return send_error(provider.decode_error(status_, upstream_body_, retry_after_));
    }
    if (decoder_) return send_translated_body();
    auto usage = json::read_usage(upstream_body_);
    if (!usage && !valid_json(upstream_body_)) {
      Error e = Error::make(ErrorKind::upstream_error,
                            "provider '" + provider.id() + "' returned a malformed response (" + url + ")",
                            {}, "upstream_malformed_response");
      e.http_status = 502;
      return send_error(e);
    }
    if (usage) usage_ = *usage;
    record_usage();  // before the send: a finished response resets the per-request state
    send_response(200, upstream_content_type_.empty() ? std::string_view("application/json") : upstream_content_type_,
                  upstream_body_);
  }

  void send_translated_body() {
    if (auto decoded = decoder_->decode_body(upstream_body_, chat_response_); !decoded) {
      Error e = std::move(decoded).error();
      e.message = "provider '" + resolution_.provider->id() + "' (" + upstream_request_.url + "): " + e.message;
      e.provider = resolution_.provider->id();
      return send_error(e);
    }
    translated_.clear();
    providers::write_chat_completion(chat_response_, created_, translated_);
    usage_ = chat_response_.usage;
    record_usage();
    send_response(200, "application/json", translated_);
  }

  static bool valid_json(std::string_view body) { return !json::locate_syntax_error(body); }

  bool should_retry(int status) {
    if (attempt_ >= resolution_.provider->config().max_retries) return false;
    if (status == 0) return true;  // could not connect: nothing reached the provider
    return status == 500 || status == 502 || status == 503 || status == 504;
  }

  void retry() {
    ++attempt_;
    auto delay = std::chrono::milliseconds(50 << std::min(attempt_ - 1, 5));
    retry_timer_.emplace(worker_.io, delay);
    retry_timer_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->start_upstream();
    });
  }

  void record_metrics() {
    metered_ = false;
    observability::RequestRecord r;
    if (resolution_.provider) r.provider = resolution_.provider->id();
    if (resolution_.model) r.model = resolution_.model->id;
    r.status = response_status_;
    r.duration = Clock::now() - request_start_;
    r.prompt_tokens = usage_.prompt_tokens;
    r.completion_tokens = usage_.completion_tokens;
    worker_.metrics.record(r);
  }

  void record_usage() {
    auto& totals = worker_.usage_for(resolution_.provider->id());
    totals.requests.fetch_add(1, std::memory_order_relaxed);
    totals.prompt_tokens.fetch_add(static_cast<uint64_t>(usage_.prompt_tokens), std::memory_order_relaxed);
    totals.completion_tokens.fetch_add(static_cast<uint64_t>(usage_.completion_tokens), std::memory_order_relaxed);
  }

  // --- writing ---------------------------------------------------------------------------------

  void send_json(int status, std::string_view body) { send_response(status, "application/json", body); }

  void send_error(const Error& e) {
    std::string extra;
    if (e.retry_after) extra = "Retry-After: " + *e.retry_after + "\r\n";
    send_response(e.http_status, "application/json", to_openai_json(e), extra);
  }

  // The head and body are appended to the connection's output buffer (which keeps its capacity
  // across requests) and leave in one write.
  void send_response(int status, std::string_view content_type, std::string_view body, std::string_view extra = {}) {
    response_status_ = status;
    auto& out = pending_;
    char number[24];
    out += "HTTP/1.1 ";
    out.append(number, static_cast<size_t>(std::to_chars(number, number + sizeof number, status).ptr - number));
    out += ' ';
    out += reason_phrase(status);
    out += "\r\nContent-Type: ";
    out += content_type;
    out += "\r\nContent-Length: ";
    out.append(number, static_cast<size_t>(std::to_chars(number, number + sizeof number, body.size()).ptr - number));
    out += "\r\nx-request-id: ";
    out += request_id_;
    out += "\r\n";
    out += extra;
    if (!keep_alive_) out += "Connection: close\r\n";
    out += "\r\n";
    out += body;
    stream_finished_ = true;
    flush();
  }

  void queue(std::string_view bytes) { pending_ += bytes; }

  void queue_chunk(std::string_view data) {
    char size_line[24];
    char* end = std::to_chars(size_line, size_line + 20, data.size(), 16).ptr;
    *end++ = '\r';
    *end++ = '\n';
    pending_.append(size_line, static_cast<size_t>(end - size_line));
    pending_.append(data);
    pending_ += "\r\n";
  }

  // Stream bytes that arrive in one burst (one upstream read parses into many events, often the
  // final chunk too) go out in one write: the flush runs after the current handler, not per event.
  void schedule_flush() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    asio::post(worker_.io, [self = shared_from_this()] {
      self->flush_scheduled_ = false;
      self->flush();
    });
  }

  void flush() {
    if (writing_ || pending_.empty()) {
      if (!writing_ && pending_.empty() && stream_finished_) response_done();
      return;
    }
    // Almost every response fits the socket's send buffer: write it now (the socket is
    // non-blocking) and involve the reactor only for what the kernel did not take.
    boost::system::error_code ec;
    size_t n = socket_.write_some(asio::buffer(pending_), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      n = 0;
    }
    if (ec) return on_written(ec);
    if (n == pending_.size()) {
      pending_.clear();
      return on_written({});
    }
    writing_ = true;
    std::swap(inflight_, pending_);
    pending_.clear();
    asio::async_write(socket_, asio::buffer(inflight_.data() + n, inflight_.size() - n),
                      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_written(ec); });
  }

  void on_written(beast::error_code ec) {
    writing_ = false;
    inflight_.clear();
    if (ec) {
      if (transfer_) {
        worker_.upstream.cancel(transfer_);
        transfer_ = 0;
        holder_.reset();
      }
      return close();
    }
    if (paused_ && pending_.size() < kPauseUpstreamAbove / 2 && transfer_) {
      paused_ = false;
      worker_.upstream.resume(transfer_);
    }
    flush();
  }

  void response_done() {
    if (metered_) record_metrics();
    stream_finished_ = false;
    streaming_ = false;
    usage_ = {};
    release_large_buffers();
    if (worker_.server.draining.load(std::memory_order_relaxed)) return close();
    if (!keep_alive_) return linger();
    if (buffer_.size() > 0) {  // a pipelined request: start it from the loop, not this call stack
      asio::post(worker_.io, [self = shared_from_this()] {
        // A drain that ran meanwhile skipped this busy connection; it is not waited for.
        if (self->worker_.server.draining.load(std::memory_order_relaxed)) return self->close();
        self->read_request();
      });
      return;
    }
    read_request();
  }

  // Buffers keep their capacity from one request to the next (no allocation per request), but
  // one 10 MB request must not pin 10 MB for as long as its connection stays open.
  void release_large_buffers() {
    constexpr size_t kKeep = 64 * 1024;
    // None of these is needed any more once the response has left.
    for (std::string* s : {&head_.body, &upstream_body_, &upstream_request_.body, &pending_, &inflight_, &translated_})
      if (s->capacity() > kKeep) std::string().swap(*s);
    if (buffer_.capacity() > kKeep && buffer_.size() < kReadBufferBytes) {
      beast::flat_buffer smaller;
      smaller.reserve(kReadBufferBytes);
      auto bytes = buffer_.data();
      smaller.commit(asio::buffer_copy(smaller.prepare(bytes.size()), bytes));
      buffer_ = std::move(smaller);
    }
  }

  void close() {
    if (metered_) {  // the client went away before its response was complete (nginx's 499)
      response_status_ = 499;
      record_metrics();
    }
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    socket_.close(ec);
  }

  // After a last response (Connection: close, or an error such as 413/431 that leaves input
  // unread): stop sending, then read and drop what the client still sends until it closes.
  // Closing with unread input makes the kernel answer with RST, which can destroy the response
  // before the client has read it. The idle sweep bounds the wait.
  void linger() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    idle_ = true;
    waiting_since_ = Clock::now();
    buffer_.clear();
    discard_input();
  }

  void discard_input() {
    socket_.async_read_some(buffer_.prepare(kReadBufferBytes), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->discard_input();
    });
  }

  Worker& worker_;
  http::TcpSocket socket_;
  std::list<std::weak_ptr<Session>>::iterator self_entry_;
  beast::flat_buffer buffer_;
  http::RequestHead head_;
  std::optional<http::RequestParser> parser_;
  std::shared_ptr<const GatewayState> state_;
  bool idle_ = false;
  Clock::time_point waiting_since_;
  bool keep_alive_ = true;
  std::string request_id_;

  providers::Endpoint endpoint_ = providers::Endpoint::chat_completions;
  json::RequestFields fields_;
  router::Resolution resolution_;
  http::UpstreamRequest upstream_request_;
  http::UpstreamClient::TransferId transfer_ = 0;
  std::shared_ptr<Session> holder_;
  std::optional<asio::steady_timer> retry_timer_;
  int attempt_ = 0;
  int status_ = 0;
  bool stream_ = false;
  bool streaming_ = false;
  bool saw_done_ = false;
  bool paused_ = false;
  std::string retry_after_;
  std::string upstream_content_type_;
  std::string upstream_body_;
  http::SseParser sse_;
  json::Usage usage_;

  // Responses in a provider format other than OpenAI's (decoder_ is null when they pass through).
  providers::ResponseDecoder* decoder_ = nullptr;
  std::unique_ptr<providers::ResponseDecoder> decoder_storage_;
  std::string decoder_type_;
  providers::OpenAIChunkWriter chunk_writer_;
  bool metered_ = false;  // a completion request: recorded in the metrics when its response is done
  Clock::time_point request_start_;
  int response_status_ = 0;
  providers::ChatResponse chat_response_;
  std::string translated_;
  int64_t created_ = 0;

  std::string pending_;
  std::string inflight_;
  bool writing_ = false;
  bool flush_scheduled_ = false;
  bool stream_finished_ = false;
};

// ------------------------------------------------------------------------------------------------

void Worker::accept() {
  acceptor.async_accept([this](boost::system::error_code ec, http::TcpSocket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      return accept();  // e.g. EMFILE: keep serving the connections we have
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<Session>(*this, std::move(socket))->start();
    accept();
  });
}

// Sessions unlink themselves from `sessions` when destroyed, so act on a snapshot of the list.
std::vector<std::shared_ptr<Session>> Worker::live_sessions() {
  std::vector<std::shared_ptr<Session>> out;
  for (auto& weak : sessions)
    if (auto s = weak.lock()) out.push_back(std::move(s));
  return out;
}

void Worker::abort_all() {
  for (auto& s : live_sessions()) s->abort();
  io.restart();
  io.poll();  // completes the aborted operations, which releases the sessions
}

void Worker::sweep_idle() {
  auto period = std::min<std::chrono::milliseconds>(std::chrono::seconds(1), state().config.server.idle_timeout / 2);
  idle_timer.expires_after(std::max<std::chrono::milliseconds>(period, std::chrono::milliseconds(10)));
  idle_timer.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    auto limit = state().config.server.idle_timeout;
    auto now = Clock::now();
    for (auto& s : live_sessions())
      if (s->stalled(now, limit)) s->drain();
    sweep_idle();
  });
}

void Worker::drain() {
  idle_timer.cancel();
  boost::system::error_code ec;
  acceptor.close(ec);
  for (auto& s : live_sessions()) s->drain();
}

void Server::Impl::finish_if_drained() {
  if (live_sessions.load() != 0 || finished.exchange(true)) return;
  for (auto& w : workers) w->io.stop();
  main_io.stop();
}

Server::Server(std::shared_ptr<const GatewayState> state) : impl_(std::make_unique<Impl>(std::move(state))) {}

Server::~Server() {
  for (auto& w : impl_->workers) {
    w->io.stop();
    if (w->thread.joinable()) w->thread.join();
  }
  for (auto& w : impl_->workers) w->abort_all();
}

Expected<uint16_t, std::string> Server::listen() {
  auto state = impl_->current_state();
  const auto& sc = state->config.server;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(sc.host == "localhost" ? "127.0.0.1" : sc.host, ec);
  if (ec) return unexpected("invalid listen host '" + sc.host + "': " + ec.message());
  int threads = sc.threads > 0 ? sc.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  uint16_t port = sc.port;
  for (int i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>(*impl_);
    w->state_ptr = state;
    w->state_version = impl_->state_version.load();
    tcp::endpoint endpoint(address, port);
    w->acceptor.open(endpoint.protocol(), ec);
    if (!ec) w->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      ::setsockopt(w->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      w->acceptor.bind(endpoint, ec);
    }
    if (!ec) w->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return unexpected("cannot listen on " + sc.host + ":" + std::to_string(port) + ": " + ec.message());
    port = w->acceptor.local_endpoint().port();
    impl_->workers.push_back(std::move(w));
  }
  return port;
}

void Server::run() {
  auto& impl = *impl_;
  for (auto& w : impl.workers) {
    w->accept();
    w->sweep_idle();
    w->thread = std::thread([w = w.get()] {
      auto guard = asio::make_work_guard(w->io);  // keep running while idle between connections
      w->io.run();
    });
  }
  asio::signal_set signals(impl.main_io, SIGTERM, SIGINT);
  signals.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) stop();
  });
  auto guard = asio::make_work_guard(impl.main_io);
  impl.main_io.run();
  for (auto& w : impl.workers) {
    w->io.stop();
    if (w->thread.joinable()) w->thread.join();
  }
}

void Server::stop() {
  auto& impl = *impl_;
  asio::post(impl.main_io, [&impl] {
    if (impl.draining.exchange(true)) return;
    for (auto& w : impl.workers) asio::post(w->io, [w = w.get()] { w->drain(); });
    auto grace = impl.current_state()->config.server.shutdown_grace;
    impl.grace_timer = std::make_unique<asio::steady_timer>(impl.main_io, grace);
    impl.grace_timer->async_wait([&impl](boost::system::error_code ec) {
      if (ec || impl.finished.exchange(true)) return;
      for (auto& w : impl.workers) w->io.stop();
      impl.main_io.stop();
    });
    impl.finish_if_drained();
  });
}

void Server::update_state(std::shared_ptr<const GatewayState> state) {
  {
    std::lock_guard lock(impl_->state_mutex);
    impl_->state = std::move(state);
  }
  impl_->state_version.fetch_add(1, std::memory_order_release);
}

}  // namespace llmux::server
