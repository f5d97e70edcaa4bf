// Cleartext HTTP/1.1 upstream transfers over pooled keep-alive sockets, parsed by Beast. Measured
// against curl on loopback, this path avoids curl's per-request liveness polls and easy-handle
// setup; curl remains the engine for TLS, HTTP/2 and proxies.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <deque>
#include <unordered_map>

#include "http/transfer_engine.hpp"

namespace llmux::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxIdlePerHost = 256;
constexpr auto kMaxIdleAge = std::chrono::seconds(30);
constexpr auto kSweepPeriod = std::chrono::milliseconds(20);

struct H1Transfer;

// A Beast body that hands every parsed piece of the response body straight to the transfer:
// no copy into a body container, no waiting for the whole body.
struct ForwardBody {
  struct value_type {
    H1Transfer* sink = nullptr;
  };

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& body) : body_(body) {}
    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec) { ec = {}; }
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, beast::error_code& ec);
    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

struct Connection {
  explicit Connection(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  beast::flat_buffer buffer;
  Clock::time_point idle_since;
};

struct H1Transfer {
  TransferEngine::TransferId id = 0;
  const UpstreamRequest* request = nullptr;
  UpstreamHandler* handler = nullptr;
  std::string authority;  // host[:port] as written in the URL: the pool key and Host header
  std::string host, port, target;
  std::unique_ptr<Connection> conn;
  std::optional<bhttp::response_parser<ForwardBody>> parser;
  std::string head;
  bool finished = false;  // completed, failed or cancelled: pending completions do nothing
  bool reused = false;
  bool connected = false;
  bool headers_done = false;
  bool reading = false;
  bool paused = false;
  bool keep_going = true;
  int stale_retries = 0;
  Clock::time_point started, last_activity;

  void deliver(std::string_view bytes) {
    if (finished || bytes.empty()) return;
    last_activity = Clock::now();
    keep_going = handler->on_body(bytes) && keep_going;
  }
};

template <class ConstBufferSequence>
std::size_t ForwardBody::reader::put(const ConstBufferSequence& buffers, beast::error_code& ec) {
  std::size_t n = 0;
  for (auto b : beast::buffers_range_ref(buffers)) {
    body_.sink->deliver(std::string_view(static_cast<const char*>(b.data()), b.size()));
    n += b.size();
  }
  ec = {};
  return n;
}

// "http://host[:port][/path]" -> parts; false when it is not such a URL.
bool split_url(std::string_view url, H1Transfer& t) {
  if (url.substr(0, 7) != "http://") return false;
  url.remove_prefix(7);
  size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  t.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (authority.empty()) return false;
  t.authority = std::string(authority);
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    t.host = std::string(authority.substr(1, close - 1));
    t.port = close + 1 < authority.size() && authority[close + 1] == ':' ? std::string(authority.substr(close + 2)) : "80";
  } else {
    size_t colon = authority.rfind(':');
    t.host = std::string(authority.substr(0, colon));
    t.port = colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));
  }
  return !t.host.empty() && !t.port.empty();
}

bool is_stale_connection_error(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == bhttp::error::partial_message;
}

class Http1Engine final : public TransferEngine {
 public:
  explicit Http1Engine(asio::io_context& io) : io_(io), resolver_(io), sweep_timer_(io) {}

  ~Http1Engine() override {
    for (auto& [id, t] : transfers_) close(*t);
  }

  void start(TransferId id, const UpstreamRequest& request, UpstreamHandler* handler) override {
    auto t = std::make_shared<H1Transfer>();
    t->id = id;
    t->request = &request;
    t->handler = handler;
    t->started = t->last_activity = Clock::now();
    transfers_.emplace(id, t);
    ensure_sweeping();
    if (!split_url(request.url, *t)) {
      // Report on the loop, never inside start(): callers do not expect re-entrant completion.
      asio::post(io_, [this, t] { fail(t, TransferFailure::other, "unsupported URL"); });
      return;
    }
    build_head(*t);
    acquire(t);
  }

  void cancel(TransferId id) override {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    auto t = it->second;
    t->finished = true;
    t->handler = nullptr;
    close(*t);
    transfers_.erase(it);
  }

  void resume(TransferId id) override {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    auto t = it->second;
    t->last_activity = Clock::now();
    t->keep_going = true;
    if (t->paused) {
      t->paused = false;
      if (!t->reading) read_body(t);
    }
  }

  size_t active() const noexcept override { return transfers_.size(); }

 private:
  using Ptr = std::shared_ptr<H1Transfer>;

  static void build_head(H1Transfer& t) {
    const auto& r = *t.request;
    auto& h = t.head;
    h.reserve(128 + r.url.size() + r.headers.size() * 48);
    h += r.method;
    h += ' ';
    h += t.target;
    h += " HTTP/1.1\r\nHost: ";
    h += t.authority;
    h += "\r\n";
    r.for_each_header([&](const std::string& line) {
      h += line;
      h += "\r\n";
    });
    if (r.method != "GET") {
      h += "Content-Length: ";
      h += std::to_string(r.body.size());
      h += "\r\n";
    }
    h += "\r\n";
  }

  void acquire(const Ptr& t) {
    auto it = idle_.find(t->authority);
    if (it != idle_.end()) {
      auto& pool = it->second;
      auto now = Clock::now();
      while (!pool.empty() && now - pool.front()->idle_since > kMaxIdleAge) pool.pop_front();
      if (!pool.empty()) {
        t->conn = std::move(pool.back());
        pool.pop_back();
        t->reused = true;
        t->connected = true;
        return send(t);
      }
    }
    connect(t);
  }

  void connect(const Ptr& t) {
    t->conn = std::make_unique<Connection>(io_);
    t->reused = false;
    t->connected = false;
    boost::system::error_code ec;
    auto address = asio::ip::make_address(t->host, ec);
    if (!ec) {
      tcp::endpoint endpoint(address, static_cast<unsigned short>(std::stoi(t->port)));
      t->conn->socket.async_connect(endpoint, [this, t](beast::error_code ec) { on_connect(t, ec); });
      return;
    }
    resolver_.async_resolve(t->host, t->port, [this, t](beast::error_code ec, tcp::resolver::results_type results) {
      if (t->finished) return;
      if (ec) return fail(t, TransferFailure::connect, "cannot resolve " + t->host + ": " + ec.message());
      asio::async_connect(t->conn->socket, results,
                          [this, t](beast::error_code ec, const tcp::endpoint&) { on_connect(t, ec); });
    });
  }

  void on_connect(const Ptr& t, beast::error_code ec) {
    if (t->finished) return;
    if (ec) return fail(t, TransferFailure::connect, "connect to " + t->authority + " failed: " + ec.message());
    t->connected = true;
    t->conn->socket.set_option(tcp::no_delay(true), ec);
    send(t);
  }

  void send(const Ptr& t) {
    std::array<asio::const_buffer, 2> buffers{asio::buffer(t->head), asio::buffer(t->request->body)};
    asio::async_write(t->conn->socket, buffers, [this, t](beast::error_code ec, size_t) {
      if (t->finished) return;
      if (ec) return on_io_error(t, ec);
      read_header(t);
    });
  }

  void read_header(const Ptr& t) {
    t->parser.emplace();
    t->parser->header_limit(64 * 1024);
    t->parser->body_limit(boost::none);
    t->parser->get().body().sink = t.get();
    t->reading = true;
    bhttp::async_read_header(t->conn->socket, t->conn->buffer, *t->parser, [this, t](beast::error_code ec, size_t) {
      t->reading = false;
      if (t->finished) return;
      if (ec) return on_io_error(t, ec);
      t->last_activity = Clock::now();
      t->headers_done = true;
      const auto& res = t->parser->get();
      t->handler->on_headers(static_cast<int>(res.result_int()), res[bhttp::field::content_type],
                             res[bhttp::field::retry_after]);
      if (t->finished) return;
      if (t->parser->is_done()) return complete(t);
      read_body(t);
    });
  }

  // Parses whatever is buffered in one go (a burst of stream events reaches the handler in one
  // turn of the loop), then reads more from the socket only when the parser needs it.
  void read_body(const Ptr& t) {
    if (!parse_buffered(t)) return;
    if (t->parser->is_done()) return complete(t);
    if (!t->keep_going) {
      t->paused = true;
      return;
    }
    t->reading = true;
    t->conn->socket.async_read_some(t->conn->buffer.prepare(64 * 1024), [this, t](beast::error_code ec, size_t n) {
      t->reading = false;
      if (t->finished) return;
      if (ec == asio::error::eof) {
        beast::error_code eof_ec;
        t->parser->put_eof(eof_ec);
        if (!eof_ec && t->parser->is_done()) return complete(t);
        return on_io_error(t, ec);
      }
      if (ec) return on_io_error(t, ec);
      t->last_activity = Clock::now();
      t->conn->buffer.commit(n);
      read_body(t);
    });
  }

  // False when the transfer ended (failed, or cancelled by its handler) while parsing.
  bool parse_buffered(const Ptr& t) {
    auto& buffer = t->conn->buffer;
    t->parser->eager(true);
    while (buffer.size() > 0 && !t->parser->is_done() && t->keep_going) {
      beast::error_code ec;
      size_t used = t->parser->put(buffer.data(), ec);
      buffer.consume(used);
      if (t->finished) return false;
      if (ec == bhttp::error::need_more) break;
      if (ec) {
        fail(t, TransferFailure::reset, "malformed response from " + t->authority + ": " + ec.message());
        return false;
      }
      if (used == 0) break;
    }
    return true;
  }

  void on_io_error(const Ptr& t, const beast::error_code& ec) {
    // A kept-alive connection the server has since closed fails on first use; nothing was
    // processed, so the request goes out again on a fresh connection.
    if (t->reused && !t->headers_done && t->stale_retries == 0 && is_stale_connection_error(ec)) {
      ++t->stale_retries;
      close(*t);
      return connect(t);
    }
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit)
      return fail(t, TransferFailure::other, "response from " + t->authority + " too large: " + ec.message());
    TransferFailure kind = t->connected ? TransferFailure::reset : TransferFailure::connect;
    if (ec == asio::error::operation_aborted) kind = TransferFailure::cancelled;
    fail(t, kind, "connection to " + t->authority + " broke: " + ec.message());
  }

  void complete(const Ptr& t) {
    t->finished = true;
    auto& conn = t->conn;
    bool reusable = t->parser->keep_alive() && !t->parser->need_eof() && conn->buffer.size() == 0;
    if (reusable) {
      auto& pool = idle_[t->authority];
      if (pool.size() < kMaxIdlePerHost) {
        conn->idle_since = Clock::now();
        pool.push_back(std::move(conn));
      }
    }
    close(*t);
    UpstreamHandler* handler = t->handler;
    transfers_.erase(t->id);
    handler->on_complete(TransferResult{});
  }

  void fail(const Ptr& t, TransferFailure failure, std::string detail) {
    if (t->finished) return;
    t->finished = true;
    close(*t);
    UpstreamHandler* handler = t->handler;
    transfers_.erase(t->id);
    if (handler) handler->on_complete(TransferResult{failure, std::move(detail)});
  }

  // Closing (not destroying) the socket: a pending operation may still refer to it; the
  // transfer, which owns it, lives until that operation's completion has run.
  static void close(H1Transfer& t) {
    if (!t.conn) return;
    boost::system::error_code ec;
    t.conn->socket.close(ec);
  }

  void ensure_sweeping() {
    if (sweeping_) return;
    sweeping_ = true;
    sweep_timer_.expires_after(kSweepPeriod);
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
      sweeping_ = false;
      if (ec) return;
      sweep();
      if (!transfers_.empty()) ensure_sweeping();
    });
  }

  void sweep() {
    auto now = Clock::now();
    std::vector<Ptr> expired;
    for (auto& [id, t] : transfers_) {
      bool connect_slow = !t->connected && now - t->started >= t->request->connect_timeout;
      if (connect_slow || now - t->last_activity >= t->request->timeout) expired.push_back(t);
    }
    for (auto& t : expired) {
      if (!t->connected && Clock::now() - t->started >= t->request->connect_timeout)
        fail(t, TransferFailure::connect, "connect to " + t->authority + " timed out");
      else
        fail(t, TransferFailure::timeout, "no data from " + t->authority);
    }
  }

  asio::io_context& io_;
  tcp::resolver resolver_;
  asio::steady_timer sweep_timer_;
  bool sweeping_ = false;
  std::unordered_map<TransferId, Ptr> transfers_;
  std::unordered_map<std::string, std::deque<std::unique_ptr<Connection>>> idle_;
};

}  // namespace

std::unique_ptr<TransferEngine> make_http1_engine(asio::io_context& io) { return std::make_unique<Http1Engine>(io); }

}  // namespace llmux::http
