#include "server/connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <charconv>
#include <utility>
#include <vector>

#include "core/text.hpp"
#include "server/http_text.hpp"
#include "server/spare_buffers.hpp"

namespace llmux::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
// A typical request (headers and a few KB of JSON) arrives in one read.
constexpr size_t kReadBufferBytes = 16 * 1024;
constexpr size_t kHeaderLimit = 64 * 1024;

// Read buffers of connections that need none now (a stream is open: nothing is read from its
// client until it ends), kept per thread for the next connection that reads a request. A burst
// of new streams then reuses a few buffers instead of freeing one per stream and allocating the
// next, which left holes in the heap that RSS kept (issue 12). Only memory is reused: a buffer
// is given back empty.
constexpr size_t kMaxSpareReadBuffers = 32;

std::vector<beast::flat_buffer>& spare_read_buffers() {
  thread_local std::vector<beast::flat_buffer> spares;
  return spares;
}

// Gives `buffer` (without storage) a spare's storage when there is one.
void take_read_buffer(beast::flat_buffer& buffer) {
  auto& spares = spare_read_buffers();
  if (buffer.capacity() > 0 || spares.empty()) return;
  buffer = std::move(spares.back());
  spares.pop_back();
}

// Takes an empty buffer's storage back, or frees it; `buffer` is left without storage. Returns
// the bytes freed.
size_t give_read_buffer(beast::flat_buffer& buffer) {
  if (buffer.size() > 0 || buffer.capacity() == 0) return 0;
  auto& spares = spare_read_buffers();
  if (buffer.capacity() <= kReadBufferBytes && spares.size() < kMaxSpareReadBuffers) {
    if (spares.capacity() == 0) spares.reserve(kMaxSpareReadBuffers);
    buffer.clear();
    spares.push_back(std::move(buffer));
    buffer = beast::flat_buffer();
    return 0;
  }
  size_t freed = buffer.capacity();
  buffer.shrink_to_fit();
  return freed;
}

void append_number(std::string& out, uint64_t n, int base = 10) {
  char digits[24];
  out.append(digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, n, base).ptr - digits));
}
}  // namespace

Connection::Connection(http::TcpSocket socket, asio::io_context& io, std::function<void(Connection&)> on_destroyed,
                       std::shared_ptr<asio::ssl::context> tls)
    : socket_(std::move(socket)), tls_context_(std::move(tls)), io_(io), on_destroyed_(std::move(on_destroyed)) {}

template <class F>
void Connection::with_stream(F&& f) {
  if (tls_) f(*tls_);
  else f(socket_);
}

Connection::~Connection() {
  give_read_buffer(buffer_);
  handler_.reset();
  if (on_destroyed_) on_destroyed_(*this);
}

void Connection::start(std::unique_ptr<RequestHandler> handler) {
  handler_ = std::move(handler);
  take_read_buffer(buffer_);
  if (buffer_.capacity() == 0) buffer_.reserve(kReadBufferBytes);
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);  // flush() writes directly and must never block
  if (tls_context_) return read_tls_hello();
  read_request();
}

// --- TLS -----------------------------------------------------------------------------------------

// The first bytes decide: a TLS record (a ClientHello starts with 0x16) goes to the handshake
// with them; anything else is a client speaking plain HTTP to the HTTPS port, which gets an answer
// it can read instead of a handshake failure. Until the handshake is done the connection counts
// as waiting for a request, so server.idle_timeout ends a client that connects and sends nothing
// (or stops half-way through its handshake).
void Connection::read_tls_hello() {
  idle_ = true;
  waiting_since_ = Clock::now();
  socket_.async_read_some(buffer_.prepare(kReadBufferBytes), [self = shared_from_this()](beast::error_code ec, size_t n) {
    if (ec) return self->close();
    self->buffer_.commit(n);
    constexpr unsigned char kTlsHandshakeRecord = 0x16;
    if (*static_cast<const unsigned char*>(self->buffer_.data().data()) != kTlsHandshakeRecord)
      return self->refuse_cleartext();
    self->tls_ = std::make_unique<TlsStream>(self->socket_, *self->tls_context_);
    self->tls_->async_handshake(asio::ssl::stream_base::server, self->buffer_.data(),
                                [self](beast::error_code ec, size_t used) {
                                  self->buffer_.consume(used);
                                  // What the engine did not take would be ciphertext read as HTTP.
                                  if (ec || self->buffer_.size() > 0) return self->close();
                                  self->read_request();
                                });
  });
}

void Connection::refuse_cleartext() {
  static const std::string kResponse = [] {
    Error e = Error::make(ErrorKind::invalid_request,
                          "this port serves HTTPS (server.tls): send the request with https://", {},
                          "plain_http_to_https_port");
    std::string body = to_openai_json(e);
    return "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  }();
  boost::system::error_code ec;
  socket_.write_some(asio::buffer(kResponse), ec);
  keep_alive_ = false;
  linger();
}

// --- reading -------------------------------------------------------------------------------------

void Connection::read_request() {
  idle_ = true;
  in_request_ = false;
  streaming_ = false;
  answer_complete_ = false;
  head_only_ = false;
  waiting_since_ = Clock::now();
  limits_ = handler_->limits();
  // Everything the previous request left in the head goes; only the body's capacity is kept.
  std::string body = std::move(head_.body);
  body.clear();
  head_ = http::RequestHead{};
  head_.body = std::move(body);
  parser_.emplace(head_);
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(limits_.max_body_bytes);
  parse_request();
}

// Feeds what is buffered to the parser; reads more from the socket only when it needs more. The
// head is parsed on its own first (eager off) so the handler can refuse a request before its body
// is read, and "Expect: 100-continue" is answered only for an admitted request.
void Connection::parse_request() {
  while (buffer_.size() > 0 && !parser_->is_done()) {
    beast::error_code ec;
    size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == bhttp::error::need_more) break;
    if (ec) return on_read(ec);
    if (parser_->is_header_done() && !parser_->eager()) {
      parser_->eager(true);
      http10_ = head_.version < 11;
      head_only_ = head_.method == bhttp::verb::head;
      in_request_ = true;
      // An answer given while admitting leaves any body unread: the connection closes after it.
      keep_alive_ = parser_->is_done() && parser_->keep_alive() && !draining_;
      if (!handler_->admit(*this, head_)) return;
      keep_alive_ = parser_->keep_alive() && !draining_;
      if (!parser_->is_done() && iequals(head_.expect, "100-continue")) return send_continue();
    }
    if (used == 0) break;
  }
  if (parser_->is_done()) return on_read({});
  read_more();
}

// Clients such as curl send "Expect: 100-continue" before a large body and wait (curl: 1 s) for
// the interim response; answering it keeps that wait off the request's latency.
void Connection::send_continue() {
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  with_stream([&](auto& stream) {
    asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->close();
                        self->parse_request();
                      });
  });
}

void Connection::read_more() {
  take_read_buffer(buffer_);  // none while a stream was open
  size_t room = buffer_.capacity() - buffer_.size();
  auto space = buffer_.prepare(room >= 2048 ? room : kReadBufferBytes);
  with_stream([&](auto& stream) {
    stream.async_read_some(space, [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->on_read(ec);
      self->buffer_.commit(n);
      self->parse_request();
    });
  });
}

void Connection::on_read(beast::error_code ec) {
  idle_ = false;
  if (!ec) {
    in_request_ = true;
    return handler_->on_request(*this, head_);
  }
  if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted ||
      ec == asio::error::connection_reset || ec == asio::error::bad_descriptor ||
      ec.category() == asio::error::get_ssl_category() || ec == asio::ssl::error::stream_truncated)
    return close();
  keep_alive_ = false;
  in_request_ = true;
  if (ec == bhttp::error::body_limit) {
    return handler_->on_unreadable(
        *this, Error::make(ErrorKind::payload_too_large,
                           "request body exceeds the limit of " + std::to_string(limits_.max_body_bytes) +
                               " bytes (server.max_body_size)",
                           {}, "request_too_large"));
  }
  if (ec == bhttp::error::header_limit) {
    Error e = Error::make(ErrorKind::invalid_request, "request header exceeds 64 KiB", {}, "request_header_too_large");
    e.http_status = 431;
    return handler_->on_unreadable(*this, e);
  }
  handler_->on_unreadable(*this, Error::make(ErrorKind::invalid_request, "malformed HTTP request: " + ec.message()));
}

// --- writing -------------------------------------------------------------------------------------

void Connection::write_head(int status, std::string_view content_type, std::string_view extra_headers,
                            std::optional<size_t> content_length) {
  spare_buffers::take(pending_);
  auto& out = pending_;
  out += http10_ ? "HTTP/1.0 " : "HTTP/1.1 ";
  append_number(out, static_cast<uint64_t>(status));
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  if (!content_type.empty()) {
    out += "Content-Type: ";
    out += content_type;
    out += "\r\n";
  }
  if (content_length) {
    out += "Content-Length: ";
    append_number(out, *content_length);
    out += "\r\n";
  }
  if (!content_length) {  // a stream
    out += "Cache-Control: no-cache\r\n";
    if (!http10_ && !head_only_) out += "Transfer-Encoding: chunked\r\n";
  }
  out += extra_headers;
  if (!keep_alive_) out += "Connection: close\r\n";
  else if (http10_) out += "Connection: keep-alive\r\n";
  out += "\r\n";
}

void Connection::respond(int status, std::string_view content_type, std::string_view body,
                         std::string_view extra_headers) {
  if (closed_ || answer_complete_) return;
  write_head(status, content_type, extra_headers, body.size());
  if (!head_only_) pending_ += body;
  answer_complete_ = true;
  handler_->on_answer_complete();
  flush();
}

void Connection::begin_stream(int status, std::string_view content_type, std::string_view extra_headers) {
  if (closed_ || answer_complete_ || streaming_) return;
  streaming_ = true;
  // A stream can stay open for minutes while nothing is read from its client: the read buffer
  // goes to the thread's spares now, and one comes back with the next request. What is freed
  // instead counts for the sweep, so that the worker trims what many streams gave back.
  released_unswept_ += give_read_buffer(buffer_);
  // HTTP/1.0 has no chunked encoding: the body ends where the connection does.
  if (http10_) keep_alive_ = false;
  write_head(status, content_type, extra_headers, std::nullopt);
  schedule_flush();
}

void Connection::stream(std::string_view bytes) {
  if (!streaming_ || answer_complete_ || bytes.empty() || head_only_) return;
  if (http10_) {
    spare_buffers::take(pending_);
    pending_ += bytes;
  } else {
    queue_chunk(bytes);
  }
  schedule_flush();
}

void Connection::end_stream() {
  if (!streaming_ || answer_complete_) return;
  if (!http10_ && !head_only_) {
    spare_buffers::take(pending_);
    pending_ += "0\r\n\r\n";
  }
  answer_complete_ = true;
  handler_->on_answer_complete();
  schedule_flush();
}

void Connection::queue_chunk(std::string_view data) {
  spare_buffers::take(pending_);
  // Lengths given: operator+=(const char*) is an out-of-line strlen and append per call, and this
  // runs for every write of a stream.
  append_number(pending_, data.size(), 16);
  pending_.append("\r\n", 2);
  pending_.append(data);
  pending_.append("\r\n", 2);
}

// Stream bytes that arrive in one burst (one upstream read parses into many events, often the
// final chunk too) go out in one write: the flush runs after the current handler, not per event.
void Connection::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  asio::post(io_, [self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->flush();
  });
}

void Connection::flush() {
  if (closed_) return;
  if (writing_ || pending_.empty()) {
    if (!writing_ && pending_.empty() && answer_complete_ && in_request_) response_done();
    return;
  }
  // Almost every answer fits the socket's send buffer: write it now (the socket is non-blocking)
  // and involve the reactor only for what the kernel did not take. Over TLS every write goes
  // through the reactor: a record the kernel took only part of cannot be taken back.
  size_t n = 0;
  if (!tls_) {
    boost::system::error_code ec;
    n = socket_.write_some(asio::buffer(pending_), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      n = 0;
    }
    if (ec) return on_written(ec);
    if (n == pending_.size()) {
      pending_.clear();
      spare_buffers::give(pending_);
      return on_written({});
    }
  }
  writing_ = true;
  std::swap(inflight_, pending_);
  pending_.clear();
  inflight_sent_ = n;
  write_progress_ = Clock::now();
  write_inflight();
}

// Piece by piece (not async_write) so that every byte the kernel takes counts as progress for the
// write timeout: a slow reader is fine, one that stopped reading is not.
void Connection::write_inflight() {
  with_stream([&](auto& stream) {
    stream.async_write_some(asio::buffer(inflight_.data() + inflight_sent_, inflight_.size() - inflight_sent_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->on_written(ec);
                              self->inflight_sent_ += n;
                              self->write_progress_ = Clock::now();
                              if (self->inflight_sent_ < self->inflight_.size()) return self->write_inflight();
                              self->on_written({});
                            });
  });
}

void Connection::on_written(beast::error_code ec) {
  writing_ = false;
  inflight_.clear();
  spare_buffers::give(inflight_);
  inflight_sent_ = 0;
  if (ec) return close();
  if (paused_producer_ && queued_bytes() < kPauseAbove / 2) {
    paused_producer_ = false;
    handler_->on_writable();
    if (closed_) return;
  }
  flush();
}

void Connection::response_done() {
  in_request_ = false;
  streaming_ = false;
  handler_->on_request_end(false);
  release_large_buffers();
  if (draining_) return close();
  if (!keep_alive_) return linger();
  if (buffer_.size() > 0) {  // a pipelined request: start it from the loop, not this call stack
    asio::post(io_, [self = shared_from_this()] {
      if (!self->closed_) self->read_request();
    });
    return;
  }
  read_request();
}

void Connection::release_request_body() {
  constexpr size_t kKeep = 64 * 1024;
  if (head_.body.capacity() > kKeep) std::string().swap(head_.body);
}

size_t Connection::buffer_capacity() const noexcept {
  return buffer_.capacity() + head_.body.capacity() + pending_.capacity() + inflight_.capacity();
}

size_t Connection::release_idle_memory() {
  size_t released = std::exchange(released_unswept_, 0);
  if (closed_) return released;
  if (!writing_ && !flush_scheduled_ && pending_.empty())
    for (std::string* s : {&pending_, &inflight_})
      if (s->capacity() > spare_buffers::kIdleKeep) {
        released += s->capacity();
        std::string().swap(*s);
      }
  if (in_request_) released += handler_->release_idle_memory();
  return released;
}

// Buffers keep their capacity from one request to the next (no allocation per request), but one
// 10 MB request must not pin 10 MB for as long as its connection stays open.
void Connection::release_large_buffers() {
  constexpr size_t kKeep = 64 * 1024;
  for (std::string* s : {&head_.body, &pending_, &inflight_})
    if (s->capacity() > kKeep) std::string().swap(*s);
  if (buffer_.capacity() > kKeep && buffer_.size() < kReadBufferBytes) {
    beast::flat_buffer smaller;
    smaller.reserve(kReadBufferBytes);
    auto bytes = buffer_.data();
    smaller.commit(asio::buffer_copy(smaller.prepare(bytes.size()), bytes));
    buffer_ = std::move(smaller);
  }
}

// --- ending --------------------------------------------------------------------------------------

bool Connection::stalled(Clock::time_point now, std::chrono::milliseconds idle_limit) const {
  if (closed_) return false;
  if (idle_ && now - waiting_since_ > idle_limit) return true;
  return writing_ && now - write_progress_ > limits_.write_timeout;
}

void Connection::drain() {
  draining_ = true;
  keep_alive_ = false;
  if (idle_) close();
}

void Connection::cut_for_shutdown() {
  if (closed_) return;
  if (in_request_ && !answer_complete_) handler_->on_shutdown_cut();
  keep_alive_ = false;
  // Whatever the kernel takes now is what the client gets; the loop stops right after. (Over TLS
  // nothing more can be written without the reactor.)
  if (!writing_ && !pending_.empty() && !tls_) {
    boost::system::error_code ec;
    socket_.write_some(asio::buffer(pending_), ec);
  }
  close();
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  if (in_request_) {
    in_request_ = false;
    handler_->on_request_end(true);
  }
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  socket_.close(ec);
}

// The handler stays: an exchange still referenced by an aborted operation returns its buffers to
// it, and it goes with the connection once the last of them has completed.
void Connection::abort() { close(); }

// After a last answer (Connection: close, or an error such as 413/431 that leaves input unread):
// stop sending, then read and drop what the client still sends until it closes. Closing with
// unread input makes the kernel answer with RST, which can destroy the answer before the client
// has read it. The idle sweep bounds the wait.
//
// Over TLS, close_notify goes first; its completion does not mean the client's input was read
// (OpenSSL drops records after a sent close_notify without reporting them), so the same drain
// follows, on the raw socket.
void Connection::linger() {
  idle_ = true;
  waiting_since_ = Clock::now();
  if (tls_) {
    tls_->async_shutdown([self = shared_from_this()](beast::error_code) { self->drain_after_answer(); });
    return;
  }
  drain_after_answer();
}

void Connection::drain_after_answer() {
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return close();
  buffer_.clear();
  discard_input();
}

void Connection::discard_input() {
  socket_.async_read_some(buffer_.prepare(kReadBufferBytes), [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec) return self->close();
    self->discard_input();
  });
}

}  // namespace llmux::server
