// HTTP/1.1 upstream transfers, cleartext and TLS, over pooled keep-alive sockets, parsed by Beast.
// Measured against curl on loopback, this path avoids curl's per-request liveness polls and
// easy-handle setup; curl remains the engine for HTTP/2 and proxies.
//
// TLS runs OpenSSL directly on the non-blocking socket, with Asio waiting for readiness: no
// intermediate buffers (Asio's ssl::stream keeps 34 KB of its own per connection and copies every
// record through them), OpenSSL's record buffers are released while a connection is idle, and a
// warm connection costs one SSL_write and the SSL_reads of its response, nothing else.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <openssl/err.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <deque>
#include <optional>
#include <unordered_map>

#include "http/asio_types.hpp"
#include "http/message_parsers.hpp"
#include "http/tls_context.hpp"
#include "http/transfer_engine.hpp"
#include "http/upstream_guard.hpp"

namespace llmux::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxIdlePerHost = 256;
constexpr auto kSweepPeriod = std::chrono::milliseconds(20);
// A connection holds no read buffer while it waits (issue 12: memory per open stream): it waits
// for readability, then reads into a buffer the engine lends for that read, as much as the lent
// buffer's room takes. Sizing the read to the socket's readable bytes instead would cost an
// FIONREAD ioctl per read, one syscall more per response than nginx.
constexpr size_t kReadBytes = 64 * 1024;
constexpr size_t kMinReadRoom = 4 * 1024;
// Read buffers are lent to a connection for a read and given back once all of it is parsed (a
// read is parsed at once, so one or two serve every connection of the engine); a connection keeps
// one only while it holds bytes of an incomplete head or chunk line.
constexpr size_t kMaxSpareBuffers = 8;
constexpr size_t kMaxSpareTransfers = 64;

// A connection is freed without a close_notify (its socket may be closed already). Marked as shut
// down, OpenSSL keeps its session resumable: otherwise SSL_free flags the session, which the
// shared session slot usually holds, as not resumable for every connection after it.
struct SslFree {
  void operator()(SSL* ssl) const noexcept {
    if (SSL_is_init_finished(ssl)) SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl);
  }
};

struct Connection {
  explicit Connection(asio::io_context& io) : socket(io.get_executor()) {}
  TcpSocket socket;
  beast::flat_buffer buffer;  // lent by the engine for a read (Http1Engine::lend)
  // The few bytes a read ended with that the parser cannot take yet (the CRLF after a chunk, part
  // of the next chunk's size line), kept here so the buffer can go back between reads.
  std::array<char, 32> carry{};
  uint8_t carry_size = 0;
  Clock::time_point idle_until;  // while pooled: closed at this time unless reused
  // TLS only. The context is held so its SSL_CTX outlives a reload that dropped the provider.
  std::shared_ptr<const TlsClientContext> tls_context;
  std::unique_ptr<SSL, SslFree> ssl;  // freed before the socket closes (it does not own the fd)
};

// One request/response exchange. Finished transfers are kept for reuse, so their strings keep
// their capacity and a proxied request allocates nothing here once the engine is warm.
struct H1Transfer {
  TransferEngine::TransferId id = 0;
  const UpstreamRequest* request = nullptr;
  UpstreamHandler* handler = nullptr;
  std::string authority;  // host[:port] as written in the URL: the Host header
  std::string pool_key;   // authority, and for TLS the scheme and the provider's TLS context
  std::string host, port, target;
  bool tls = false;
  size_t tls_written = 0;
  std::unique_ptr<Connection> conn;
  ResponseHead response;
  std::optional<ResponseParser> parser;
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

  void reset(TransferEngine::TransferId new_id, const UpstreamRequest& r, UpstreamHandler* h, Clock::time_point now) {
    id = new_id;
    request = &r;
    handler = h;
    conn.reset();
    response.clear();
    parser.reset();
    head.clear();
    finished = reused = connected = headers_done = reading = paused = tls = false;
    tls_written = 0;
    keep_going = true;
    stale_retries = 0;
    started = last_activity = now;
  }

  void deliver(std::string_view bytes) {
    if (finished || bytes.empty()) return;
    keep_going = handler->on_body(bytes) && keep_going;
  }
  static void deliver_to(void* transfer, std::string_view bytes) { static_cast<H1Transfer*>(transfer)->deliver(bytes); }
};

// "http://host[:port][/path]" or "https://…" -> parts; false when it is not such a URL.
bool split_url(std::string_view url, H1Transfer& t) {
  std::string_view default_port = "80";
  if (url.substr(0, 8) == "https://") {
    if (!t.request->tls) return false;
    url.remove_prefix(8);
    t.tls = true;
    default_port = "443";
  } else if (url.substr(0, 7) == "http://") {
    url.remove_prefix(7);
  } else {
    return false;
  }
  size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  t.target.assign(slash == std::string_view::npos ? std::string_view("/") : url.substr(slash));
  if (authority.empty()) return false;
  t.authority.assign(authority);
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    t.host.assign(authority.substr(1, close - 1));
    t.port.assign(close + 1 < authority.size() && authority[close + 1] == ':' ? authority.substr(close + 2)
                                                                             : default_port);
  } else {
    size_t colon = authority.rfind(':');
    t.host.assign(authority.substr(0, colon));
    t.port.assign(colon == std::string_view::npos ? default_port : authority.substr(colon + 1));
  }
  t.pool_key.assign(t.authority);
  if (t.tls) {
    // Providers with different TLS settings (a client certificate) never share a connection.
    char serial[24];
    t.pool_key += "#tls";
    t.pool_key.append(serial, std::to_chars(serial, serial + sizeof serial, t.request->tls->serial()).ptr);
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
    Ptr t = take_spare();
    t->reset(id, request, handler, Clock::now());
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
      if (!t->reading) read_response(t);
    }
  }

  // The head (and the target it was built from) is written once the response head has arrived:
  // a stale connection's resend happens before that.
  bool release_sent_request(TransferId id, size_t& released) override {
    auto it = transfers_.find(id);
    if (it == transfers_.end() || !it->second->headers_done) return false;
    for (std::string* s : {&it->second->head, &it->second->target})
      if (s->capacity() > std::string().capacity()) {
        released += s->capacity();
        std::string().swap(*s);
      }
    return true;
  }

  size_t active() const noexcept override { return transfers_.size(); }

 private:
  using Ptr = std::shared_ptr<H1Transfer>;

  // A transfer nobody else refers to any more (no pending operation holds it) is reused.
  Ptr take_spare() {
    while (!spare_.empty()) {
      Ptr t = std::move(spare_.back());
      spare_.pop_back();
      if (t.use_count() == 1) return t;
    }
    return std::make_shared<H1Transfer>();
  }

  void retire(const Ptr& t) {
    if (spare_.size() < kMaxSpareTransfers) spare_.push_back(t);
  }

  static void build_head(H1Transfer& t) {
    const auto& r = *t.request;
    auto& h = t.head;
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
      char number[24];
      h += "Content-Length: ";
      h.append(number, static_cast<size_t>(std::to_chars(number, number + sizeof number, r.body.size()).ptr - number));
      h += "\r\n";
    }
    h += "\r\n";
    // TLS: one SSL_write, so one record and one syscall for head and body.
    if (t.tls) h += r.body;
  }

  void acquire(const Ptr& t) {
    auto it = idle_.find(t->pool_key);
    if (it != idle_.end()) {
      auto& pool = it->second;
      // The idle timer may not have run yet for a connection that has just expired.
      while (!pool.empty() && pool.back()->idle_until <= t->started) pool.pop_back();
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
      if (auto refused = refuse_connection(t->host, endpoint.data()))
        return fail(t, TransferFailure::not_allowed, std::move(*refused));
      t->conn->socket.async_connect(endpoint, [this, t](beast::error_code ec) { on_connect(t, ec); });
      return;
    }
    resolver_.async_resolve(t->host, t->port, [this, t](beast::error_code ec, tcp::resolver::results_type results) {
      if (t->finished) return;
      if (ec) return fail(t, TransferFailure::connect, "cannot resolve " + t->host + ": " + ec.message());
      // Only the addresses the guard allows are tried: the check is on what the name resolves to
      // now, whatever it resolved to when the provider was configured.
      auto refused = std::make_shared<std::string>();
      auto allowed = [t, refused](const beast::error_code&, const tcp::endpoint& next) {
        auto why = refuse_connection(t->host, next.data());
        if (why) *refused = std::move(*why);
        return !why;
      };
      asio::async_connect(t->conn->socket, results, allowed,
                          [this, t, refused](beast::error_code ec, const tcp::endpoint&) {
                            if (!t->finished && ec == asio::error::not_found && !refused->empty())
                              return fail(t, TransferFailure::not_allowed, std::move(*refused));
                            on_connect(t, ec);
                          });
    });
  }

  void on_connect(const Ptr& t, beast::error_code ec) {
    if (t->finished) return;
    if (ec) return fail(t, TransferFailure::connect, "connect to " + t->authority + " failed: " + ec.message());
    t->conn->socket.set_option(tcp::no_delay(true), ec);
    t->conn->socket.non_blocking(true, ec);  // send() writes directly and must never block
    if (t->tls) return start_handshake(t);
    t->connected = true;
    send(t);
  }

  // ---- TLS ----

  void start_handshake(const Ptr& t) {
    auto& conn = *t->conn;
    const TlsClientContext& context = *t->request->tls;
    conn.tls_context = context.shared_from_this();
    conn.ssl.reset(context.new_connection(conn.socket.native_handle(), t->host, t->authority));
    if (!conn.ssl) return fail(t, TransferFailure::connect, "cannot set up TLS for " + t->authority);
    handshake(t);
  }

  void handshake(const Ptr& t) {
    SSL* ssl = t->conn->ssl.get();
    ERR_clear_error();
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
      t->connected = true;
      return send(t);
    }
    int error = SSL_get_error(ssl, r);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)
      return wait_for(t, error, [this](const Ptr& t) { handshake(t); });
    fail(t, TransferFailure::connect,
         "TLS handshake with " + t->authority + " failed: " + TlsClientContext::failure_reason(ssl, error));
  }

  // Runs `next` once the socket is ready for what OpenSSL asked (SSL_ERROR_WANT_READ/WRITE).
  template <typename Next>
  void wait_for(const Ptr& t, int ssl_error, Next next) {
    auto what = ssl_error == SSL_ERROR_WANT_WRITE ? TcpSocket::wait_write : TcpSocket::wait_read;
    t->conn->socket.async_wait(what, [this, t, next](beast::error_code ec) {
      if (t->finished) return;
      if (ec) return on_io_error(t, ec);
      next(t);
    });
  }

  // An OpenSSL I/O failure as the socket error it stands for, so pooled-connection retries and
  // failure kinds work as for cleartext.
  static beast::error_code tls_io_error(int ssl_error) {
    if (ssl_error == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
    if (ssl_error == SSL_ERROR_SYSCALL && errno != 0) return beast::error_code(errno, boost::system::system_category());
    return asio::error::connection_reset;
  }

  // A TLS protocol failure after the handshake, e.g. a TLS 1.3 server refusing the client's
  // certificate (its alert arrives with the first read). Before any response on a fresh
  // connection it is a connect failure (the router moves on), with OpenSSL's reason.
  void tls_failed(const Ptr& t, int ssl_error) {
    std::string reason = TlsClientContext::failure_reason(t->conn->ssl.get(), ssl_error);
    // A pooled connection the server has dropped (restarted behind the same address) may answer
    // with an alert: the request was never processed, so it goes out once more, as for cleartext.
    if (retry_if_stale(t)) return;
    bool before_response = !t->reused && !t->headers_done;
    fail(t, before_response ? TransferFailure::connect : TransferFailure::reset,
         "TLS with " + t->authority + " failed: " + reason);
  }

  // Writes the rest of the request (head and body, in t->head) and then reads the response.
  void tls_send(const Ptr& t, bool inside_start) {
    SSL* ssl = t->conn->ssl.get();
    while (t->tls_written < t->head.size()) {
      ERR_clear_error();
      errno = 0;
      int n = SSL_write(ssl, t->head.data() + t->tls_written, static_cast<int>(t->head.size() - t->tls_written));
      if (n > 0) {
        t->tls_written += static_cast<size_t>(n);
        continue;
      }
      int error = SSL_get_error(ssl, n);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)
        return wait_for(t, error, [this](const Ptr& t) { tls_send(t, false); });
      if (error == SSL_ERROR_SSL) {
        if (inside_start) return asio::post(io_, [this, t, error] {
          if (!t->finished) tls_failed(t, error);
        });
        return tls_failed(t, error);
      }
      beast::error_code ec = tls_io_error(error);
      ERR_clear_error();
      // As for cleartext: never complete inside start().
      if (inside_start) return asio::post(io_, [this, t, ec] {
        if (!t->finished) on_io_error(t, ec);
      });
      return on_io_error(t, ec);
    }
    start_response(t);
  }

  // One SSL_read into the connection's buffer once data is there: records OpenSSL already holds
  // are read on the next turn of the loop, anything else after the socket is readable.
  void tls_read(const Ptr& t) {
    auto read_now = [this, t] {
      if (t->finished) return;
      SSL* ssl = t->conn->ssl.get();
      lend(*t->conn);
      auto space = read_space(t->conn->buffer);
      ERR_clear_error();
      errno = 0;
      int n = SSL_read(ssl, space.data(), static_cast<int>(space.size()));
      if (n > 0) return on_read(t, {}, static_cast<size_t>(n));
      int error = SSL_get_error(ssl, n);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)  // e.g. only a session ticket arrived
        return wait_for(t, error, [this](const Ptr& t) { tls_read(t); });
      t->reading = false;
      if (error == SSL_ERROR_SSL) return tls_failed(t, error);
      beast::error_code ec = tls_io_error(error);
      ERR_clear_error();
      on_read(t, ec, 0);
    };
    if (SSL_has_pending(t->conn->ssl.get())) return asio::post(io_, read_now);
    t->conn->socket.async_wait(TcpSocket::wait_read, [this, t, read_now](beast::error_code ec) {
      if (t->finished) return;
      if (ec) return on_read(t, ec, 0);
      read_now();
    });
  }

  // ---- end TLS ----

  // The request almost always fits the socket's send buffer: it is written right away, and only
  // a remainder goes through the reactor.
  void send(const Ptr& t) {
    if (t->tls) {
      t->tls_written = 0;
      return tls_send(t, true);
    }
    std::array<asio::const_buffer, 2> buffers{asio::buffer(t->head), asio::buffer(t->request->body)};
    boost::system::error_code ec;
    size_t n = t->conn->socket.write_some(buffers, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      n = 0;
    }
    // Reported from the loop: send() runs inside start() for a pooled connection, and a handler
    // must never see its transfer complete before start() has returned.
    if (ec) return asio::post(io_, [this, t, ec] {
      if (!t->finished) on_io_error(t, ec);
    });
    size_t total = t->head.size() + t->request->body.size();
    if (n == total) return start_response(t);
    if (n < t->head.size()) {
      buffers[0] = asio::buffer(t->head.data() + n, t->head.size() - n);
    } else {
      buffers[0] = asio::buffer(t->request->body.data() + (n - t->head.size()), total - n);
      buffers[1] = asio::const_buffer();
    }
    asio::async_write(t->conn->socket, buffers, [this, t](beast::error_code ec, size_t) {
      if (t->finished) return;
      if (ec) return on_io_error(t, ec);
      start_response(t);
    });
  }

  void start_response(const Ptr& t) {
    expect_head(*t);
    read_response(t);
  }

  // A fresh parser for the next response head (the first, or the one after an interim 1xx).
  static void expect_head(H1Transfer& t) {
    t.response.clear();
    t.parser.emplace(t.response, &H1Transfer::deliver_to, &t);
    t.parser->header_limit(64 * 1024);
    // Beast checks a Content-Length against the limit before any body byte, and counts the rest.
    uint64_t limit = t.request->max_response_bytes;
    t.parser->body_limit(limit ? boost::optional<uint64_t>(limit) : boost::none);
  }

  // Parses whatever is buffered in one go (a burst of stream events reaches the handler in one
  // turn of the loop), then reads more from the socket only when the parser needs it. The head
  // is parsed on its own (eager off) so the handler sees the status before any body byte.
  void read_response(const Ptr& t) {
    if (!parse_buffered(t)) return;
    if (t->parser->is_done()) return complete(t);
    if (!t->keep_going) {
      t->paused = true;
      return;
    }
    give_back(*t->conn);
    t->reading = true;
    if (t->tls) return tls_read(t);
    // Wait for the bytes, then take as many as are there: the buffer is sized when they arrive.
    t->conn->socket.async_wait(TcpSocket::wait_read, [this, t](beast::error_code ec) {
      if (t->finished) return;
      if (ec) return on_read(t, ec, 0);
      auto& conn = *t->conn;
      lend(conn);
      size_t n = conn.socket.read_some(read_space(conn.buffer), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        t->reading = false;
        return read_response(t);
      }
      on_read(t, ec, n);
    });
  }

  void lend(Connection& conn) {
    if (conn.buffer.capacity() == 0 && !spare_buffers_.empty()) {
      conn.buffer = std::move(spare_buffers_.back());
      spare_buffers_.pop_back();
    }
    if (conn.carry_size > 0) {
      auto carried = asio::buffer(conn.carry.data(), conn.carry_size);
      conn.buffer.commit(asio::buffer_copy(conn.buffer.prepare(conn.carry_size), carried));
      conn.carry_size = 0;
    }
  }
  // After a parse: a buffer that holds nothing, or only a short remainder (moved to `carry`), goes
  // back to the engine.
  void give_back(Connection& conn) {
    auto& buffer = conn.buffer;
    if (buffer.capacity() == 0) return;
    if (buffer.size() > conn.carry.size() - conn.carry_size) {  // kept while waiting: only its bytes
      buffer.shrink_to_fit();
      return;
    }
    auto room = asio::buffer(conn.carry.data() + conn.carry_size, conn.carry.size() - conn.carry_size);
    conn.carry_size = static_cast<uint8_t>(conn.carry_size + asio::buffer_copy(room, buffer.data()));
    buffer.clear();
    if (spare_buffers_.size() < kMaxSpareBuffers) spare_buffers_.push_back(std::move(buffer));
    buffer = beast::flat_buffer();
  }

  // Room for one read: the rest of the lent buffer, or kReadBytes in a new (or shrunk) one.
  static asio::mutable_buffer read_space(beast::flat_buffer& buffer) {
    size_t room = buffer.capacity() - buffer.size();
    return buffer.prepare(room >= kMinReadRoom ? room : kReadBytes);
  }

  void on_read(const Ptr& t, beast::error_code ec, size_t n) {
    t->reading = false;
    if (t->finished) return;
    // A body delimited by the connection's end is complete at EOF; an EOF before the head
    // (put_eof would call an empty parser complete) is a dead pooled connection.
    if (ec == asio::error::eof && t->headers_done) {
      beast::error_code eof_ec;
      t->parser->put_eof(eof_ec);
      if (!eof_ec && t->parser->is_done()) return complete(t);
      return on_io_error(t, ec);
    }
    if (ec) return on_io_error(t, ec);
    t->last_activity = Clock::now();
    t->conn->buffer.commit(n);
    read_response(t);
  }

  // False when the transfer ended (failed, or cancelled by its handler) while parsing.
  bool parse_buffered(const Ptr& t) {
    auto& buffer = t->conn->buffer;
    while (buffer.size() > 0 && !t->parser->is_done() && t->keep_going) {
      auto& parser = *t->parser;  // replaced after an interim response
      beast::error_code ec;
      size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (t->finished) return false;
      if (ec == bhttp::error::need_more) break;
      if (ec == bhttp::error::body_limit) {
        fail(t, TransferFailure::too_large,
             "response body exceeds the limit of " + std::to_string(t->request->max_response_bytes) + " bytes");
        return false;
      }
      if (ec) {
        // Garbage before any status line on a pooled connection: bytes the server sent after the
        // previous response ended. Nothing of this request was processed yet; go again fresh.
        if (t->response.status == 0 && retry_if_stale(t)) return false;
        fail(t, TransferFailure::reset, "malformed response from " + t->authority + ": " + ec.message());
        return false;
      }
      if (parser.is_header_done() && !t->headers_done) {
        int status = t->response.status;
        if (status >= 100 && status < 200 && status != 101) {
          // An interim response (100 Continue, 103 Early Hints): the real one follows on the
          // same connection. Skip it and parse the next head with a fresh parser.
          expect_head(*t);
          continue;
        }
        if (!acceptable_status(status)) {
          // Passed on, a 3xx or a 101 would be a response the client cannot use; and a redirect
          // is never followed (it could point anywhere, with the provider's credentials).
          fail(t, TransferFailure::bad_status, "HTTP status " + std::to_string(status));
          return false;
        }
        t->headers_done = true;
        parser.eager(true);
        t->handler->on_headers(status, t->response.content_type, t->response.retry_after, t->response.error_type);
        if (t->finished) return false;
      }
      if (used == 0) break;
    }
    return true;
  }

  // A pooled connection that fails before any of the response arrived never processed this
  // request: send it once more on a fresh connection. False when that does not apply.
  bool retry_if_stale(const Ptr& t) {
    if (!t->reused || t->headers_done || t->stale_retries > 0) return false;
    ++t->stale_retries;
    close(*t);
    connect(t);
    return true;
  }

  void on_io_error(const Ptr& t, const beast::error_code& ec) {
    // A kept-alive connection the server has since closed fails on first use; nothing was
    // processed, so the request goes out again on a fresh connection.
    if (is_stale_connection_error(ec) && retry_if_stale(t)) return;
    if (ec == bhttp::error::header_limit)
      return fail(t, TransferFailure::other, "response from " + t->authority + " too large: " + ec.message());
    TransferFailure kind = t->connected ? TransferFailure::reset : TransferFailure::connect;
    if (ec == asio::error::operation_aborted) kind = TransferFailure::cancelled;
    fail(t, kind, "connection to " + t->authority + " broke: " + ec.message());
  }

  void complete(const Ptr& t) {
    t->finished = true;
    auto& conn = t->conn;
    // Bytes past the response, in our buffer or still inside OpenSSL (read-ahead), would be read as
    // the next request's answer.
    bool reusable = t->response.status >= 200 && t->parser->keep_alive() && !t->parser->need_eof() &&
                    conn->buffer.size() == 0 && conn->carry_size == 0 && !(conn->ssl && SSL_has_pending(conn->ssl.get()));
    if (reusable && t->request->idle_connection_timeout.count() > 0) {
      auto& pool = idle_[t->pool_key];
      if (pool.size() < kMaxIdlePerHost) {
        conn->idle_until = Clock::now() + t->request->idle_connection_timeout;
        give_back(*conn);  // empty: checked above
        schedule_idle_close(conn->idle_until);
        pool.push_back(std::move(conn));
      }
    }
    close(*t);
    UpstreamHandler* handler = t->handler;
    transfers_.erase(t->id);
    retire(t);
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
      // Paused by its handler (a slow client): the upstream is not the one being slow.
      if (t->paused) continue;
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

  // One timer for the whole pool, set for the connection that expires first: an idle connection
  // costs the upstream a socket and us a descriptor, and is closed after its idle timeout.
  void schedule_idle_close(Clock::time_point when) {
    if (idle_timer_armed_ && idle_timer_due_ <= when) return;
    idle_timer_armed_ = true;
    idle_timer_due_ = when;
    idle_timer_.expires_at(when);
    idle_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      idle_timer_armed_ = false;
      close_expired_idle();
    });
  }

  void close_expired_idle() {
    auto now = Clock::now();
    std::optional<Clock::time_point> next;
    for (auto it = idle_.begin(); it != idle_.end();) {
      auto& pool = it->second;
      // Destroying a pooled connection closes its socket (nothing is pending on an idle one).
      pool.erase(std::remove_if(pool.begin(), pool.end(), [&](const auto& conn) { return conn->idle_until <= now; }),
                 pool.end());
      if (pool.empty()) {
        it = idle_.erase(it);
        continue;
      }
      for (const auto& conn : pool)
        if (!next || conn->idle_until < *next) next = conn->idle_until;
      ++it;
    }
    if (next) schedule_idle_close(*next);
  }

  asio::io_context& io_;
  tcp::resolver resolver_;
  asio::steady_timer sweep_timer_;
  bool sweeping_ = false;
  asio::steady_timer idle_timer_{io_};
  Clock::time_point idle_timer_due_;
  bool idle_timer_armed_ = false;
  boost::unordered_flat_map<TransferId, Ptr> transfers_;
  std::unordered_map<std::string, std::deque<std::unique_ptr<Connection>>> idle_;
  std::vector<Ptr> spare_;
  std::vector<beast::flat_buffer> spare_buffers_;
};

}  // namespace

std::unique_ptr<TransferEngine> make_http1_engine(asio::io_context& io) { return std::make_unique<Http1Engine>(io); }

}  // namespace llmux::http
