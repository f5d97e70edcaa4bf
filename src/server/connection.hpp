// One client connection: HTTP/1.x framing, keep-alive, pipelining, Expect: 100-continue, HEAD,
// lingering close, drain, and the idle and write timeouts. It knows nothing about what a request
// asks for: each complete request goes to the connection's RequestHandler, which answers through
// respond() or begin_stream()/stream()/end_stream().
//
// The bytes travel over the TCP socket itself or, with server.tls, over a TLS stream on it: one
// branch per I/O call, so the cleartext path stays what it was (direct writes included).
//
// Thread-safety: none. A connection and its handler live on their worker's thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>

#include "http/asio_types.hpp"
#include "http/message_parsers.hpp"
#include "llmux/error.hpp"

namespace boost::asio::ssl {
class context;
template <typename Stream>
class stream;
}  // namespace boost::asio::ssl

namespace llmux::server {

class Connection;

// What a connection needs to know about limits; read once per request.
struct ConnectionLimits {
  uint64_t max_body_bytes = 10ull << 20;
  std::chrono::milliseconds write_timeout{30000};
};

// The application side of a connection. One handler per connection, owned by it.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual ConnectionLimits limits() = 0;
  // The head of a request has arrived (body not yet read). Returning false means the handler has
  // answered already (e.g. 401 before a client waiting on "Expect: 100-continue" sends its body);
  // the connection then closes after that answer without reading the body.
  virtual bool admit(Connection& connection, const http::RequestHead& head) = 0;
  // A complete request. Answer now or later; the head stays valid until the answer has been
  // written (or the connection closed).
  virtual void on_request(Connection& connection, const http::RequestHead& head) = 0;
  // The request could not be read (malformed HTTP, too large): answer it with `error`.
  virtual void on_unreadable(Connection& connection, const Error& error) = 0;
  // The answer to the current request is complete, or the client is gone (`client_left`): every
  // per-request object must go now.
  virtual void on_request_end(bool client_left) = 0;
  // The whole answer has been handed to the connection and its last bytes are about to be
  // written: whatever a client may read back after seeing the answer (metrics, usage, spend) is
  // recorded now, so that it holds by the time the client can act on the answer.
  virtual void on_answer_complete() {}
  // Output queued past kPauseAbove has drained below half of it: a paused producer may go on.
  virtual void on_writable() = 0;
  // The gateway is shutting down and this answer is being cut: end it as well as it can.
  virtual void on_shutdown_cut() = 0;
  // The connection has nothing in flight right now (see Connection::release_idle_memory): give
  // back buffer capacity that is empty.
  // Returns the bytes released.
  virtual size_t release_idle_memory() { return 0; }
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Above this many queued output bytes a producer should pause (stream back-pressure).
  static constexpr size_t kPauseAbove = 256 << 10;

  // `on_destroyed` runs when the connection goes (the worker's bookkeeping). With `tls` the
  // client must complete a TLS handshake first; the connection keeps that context for its life.
  Connection(http::TcpSocket socket, boost::asio::io_context& io, std::function<void(Connection&)> on_destroyed,
             std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // `handler` answers every request of this connection.
  void start(std::unique_ptr<RequestHandler> handler);

  // --- answering the current request --------------------------------------------------------
  // The whole answer at once. `extra_headers` are complete "Name: value\r\n" lines.
  void respond(int status, std::string_view content_type, std::string_view body,
               std::string_view extra_headers = {});
  // A streamed answer: chunked on HTTP/1.1; on HTTP/1.0 the body runs to the connection's close.
  void begin_stream(int status, std::string_view content_type, std::string_view extra_headers = {});
  void stream(std::string_view bytes);  // one piece of the body; empty pieces are skipped
  void end_stream();
  bool streaming() const noexcept { return streaming_; }
  // Output bytes not yet taken by the kernel.
  size_t queued_bytes() const noexcept { return pending_.size() + inflight_.size() - inflight_sent_; }
  // True when more than kPauseAbove bytes are queued: the producer should stop until
  // RequestHandler::on_writable, which this call arranges.
  bool over_high_water() noexcept {
    if (queued_bytes() <= kPauseAbove) return false;
    paused_producer_ = true;
    return true;
  }
  // The handler has what it needs of the request body (it was encoded for the upstream): a large
  // one is freed now instead of living as long as the answer. The head's body is empty afterwards.
  void release_request_body();
  // Bytes of buffer capacity this connection holds (for the worker's memory trimming).
  size_t buffer_capacity() const noexcept;
  // The worker's once-a-second sweep: empty output buffers above a small size go, and so do the
  // handler's. Buffers keep their capacity between the events of a busy stream; a slow stream
  // (one event a second, thousands open) holds only what is in flight.
  // Returns the bytes released.
  size_t release_idle_memory();
  // Closes after the current answer instead of reading another request.
  void close_after_response() noexcept { keep_alive_ = false; }
  bool keep_alive() const noexcept { return keep_alive_; }

  // --- the worker's calls -------------------------------------------------------------------
  // True when a request has been awaited longer than `idle_limit`, or output has made no
  // progress for the write timeout.
  bool stalled(std::chrono::steady_clock::time_point now, std::chrono::milliseconds idle_limit) const;
  void drain();           // idle connections close now, busy ones after their answer
  void cut_for_shutdown();  // the grace period is over: end the answer in progress, then close
  void abort();           // the loop has stopped for good: release everything
  void close();

  std::list<std::weak_ptr<Connection>>::iterator registry_entry;  // the worker's list position

 private:
  using Clock = std::chrono::steady_clock;
  using TlsStream = boost::asio::ssl::stream<http::TcpSocket&>;

  // Calls `f` with the stream the bytes go through: the TLS stream or the socket.
  template <class F>
  void with_stream(F&& f);
  void read_tls_hello();
  void refuse_cleartext();
  void read_request();
  void parse_request();
  void send_continue();
  void read_more();
  void on_read(boost::beast::error_code ec);
  void write_head(int status, std::string_view content_type, std::string_view extra_headers,
                  std::optional<size_t> content_length);
  void queue_chunk(std::string_view data);
  void schedule_flush();
  void flush();
  void write_inflight();
  void on_written(boost::beast::error_code ec);
  void response_done();
  void release_large_buffers();
  void linger();
  void drain_after_answer();  // linger's second half: stop sending, read and drop until the client closes
  void discard_input();

  http::TcpSocket socket_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<TlsStream> tls_;  // after socket_: it refers to it
  boost::asio::io_context& io_;
  std::function<void(Connection&)> on_destroyed_;
  std::unique_ptr<RequestHandler> handler_;
  ConnectionLimits limits_;

  boost::beast::flat_buffer buffer_;
  http::RequestHead head_;
  std::optional<http::RequestParser> parser_;
  bool idle_ = false;             // waiting for a request
  Clock::time_point waiting_since_;
  bool keep_alive_ = true;
  bool in_request_ = false;       // a request has been handed to the handler, answer not complete
  bool http10_ = false;
  bool head_only_ = false;        // HEAD: headers without the body
  bool streaming_ = false;
  bool answer_complete_ = false;  // every byte of the answer is queued
  bool closed_ = false;
  bool draining_ = false;

  std::string pending_;   // queued output
  std::string inflight_;  // being written by the reactor
  size_t inflight_sent_ = 0;
  bool writing_ = false;
  bool flush_scheduled_ = false;
  bool paused_producer_ = false;
  Clock::time_point write_progress_;  // last time the kernel took bytes of inflight_
  size_t released_unswept_ = 0;  // buffer capacity freed outside the sweep, reported by its next run
};

}  // namespace llmux::server
