#include "fake_server.hpp"

#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json.hpp>

#include "openai.hpp"
#include "provider.hpp"

namespace llmux::fake {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// The last requests received, for tests to inspect through /_fake/requests.
class RequestLog {
 public:
  void add(const Request& req) {
    Record rec;  // built outside the lock; the record it evicts is freed outside it too
    rec.method = req.method_string();
    rec.target = req.target();
    rec.body = req.body();
    // The system-wide monotonic clock, so a test can compare it with its own steady_clock.
    rec.at_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now().time_since_epoch()).count();
    for (auto& f : req) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; });
      rec.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    std::lock_guard lock(mu_);
    std::swap(ring_[next_], rec);
    next_ = (next_ + 1) % kSize;
    size_ = std::min(size_ + 1, kSize);
  }

  std::string dump() const {
    json::array out;
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < size_; ++i) {
      const Record& r = ring_[(next_ + kSize - size_ + i) % kSize];
      json::object headers;
      for (auto& [name, value] : r.headers) {
        if (auto* prev = headers.if_contains(name)) {  // repeated header: join like a list
          std::string joined(prev->get_string());
          joined += ", ";
          joined += value;
          *prev = joined;
        } else {
          headers[name] = value;
        }
      }
      out.push_back(json::object{{"method", r.method},
                                 {"target", r.target},
                                 {"headers", std::move(headers)},
                                 {"body", r.body},
                                 {"at_us", r.at_us}});
    }
    return json::serialize(out);
  }

  std::size_t clear() {
    std::lock_guard lock(mu_);
    std::size_t n = size_;
    for (auto& r : ring_) r = Record{};
    size_ = next_ = 0;
    return n;
  }

 private:
  struct Record {
    std::string method, target, body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::int64_t at_us = 0;  // when it was received (steady clock)
  };
  static constexpr std::size_t kSize = 256;

  mutable std::mutex mu_;
  std::vector<Record> ring_{kSize};
  std::size_t next_ = 0, size_ = 0;
};

struct Shared {
  Provider provider;
  RequestLog log;
  std::atomic<long> open_connections{0};  // client connections not yet closed, for /_fake/connections
};

std::string_view reason(unsigned status) {
  auto s = http::int_to_status(status);
  if (s == http::status::unknown) return "Status";
  return http::obsolete_reason(s);
}

void append_num(std::string& out, std::size_t n, int base = 10) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n, base);
  out.append(buf, r.ptr);
}

// One client connection. All its handlers run on the owning thread's io_context, so there is no
// locking; every pending operation holds a shared_ptr, and closing the socket ends them all.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Shared& shared)
      : sock_(std::move(socket)), timer_(sock_.get_executor()), shared_(shared) {
    shared_.open_connections.fetch_add(1);
  }
  ~Session() { shared_.open_connections.fetch_sub(1); }

  void start() {
    error_code ec;
    sock_.set_option(tcp::no_delay(true), ec);  // stream events must leave at once
    sock_.non_blocking(true, ec);                // for the disconnect probe in watch()
    read();
  }

 private:
  using Step = void (Session::*)();

  void read() {
    parser_.emplace();
    parser_->header_limit(64 * 1024);
    parser_->body_limit(64 * 1024 * 1024);
    http::async_read_header(sock_, buf_, *parser_,
                            [self = shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (ec || parser_->is_done()) return on_read(ec);
    // curl waits a second for "100 Continue" before sending a large body.
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(sock_, asio::buffer(k100), [self = shared_from_this()](error_code ec, std::size_t) {
        if (ec) return self->abort(false);
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(sock_, buf_, *parser_,
                     [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (closed_) return;
    ++generation_;
    if (ec) {
      // Only a malformed request deserves an answer; anything else means the client is gone.
      static const auto& http_errors = http::make_error_code(http::error::bad_target).category();
      if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
          ec.category() != http_errors)
        return abort(false);
      keep_alive_ = false;
      chunked_ = true;
      reply_ = ec == http::error::body_limit     ? error_reply(413, "Request body too large.")
               : ec == http::error::header_limit ? error_reply(431, "Request headers too large.")
                                                 : error_reply(400, "Bad HTTP request: " + ec.message());
      return begin();
    }
    const Request& req = parser_->get();
    keep_alive_ = req.keep_alive();
    http10_ = req.version() < 11;
    reply_ = dispatch(req);
    chunked_ = !http10_;
    if (!chunked_) reply_.chunked_body = false;  // HTTP/1.0 has no chunks: Content-Length then
    if (reply_.stream && !chunked_) keep_alive_ = false;  // HTTP/1.0 streams end by closing
    begin();
  }

  Reply dispatch(const Request& req) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    Reply r;
    if (path == "/healthz") {
      r.content_type = "text/plain";
      r.body = "ok";
    } else if (path == "/_fake/connections") {
      r.body = "{\"open\":" + std::to_string(shared_.open_connections.load()) + "}";
    } else if (path == "/_fake/tls") {
      r.body = tls_stats_json();
    } else if (path == "/_fake/requests") {
      if (req.method() == http::verb::get) r.body = shared_.log.dump();
      else if (req.method() == http::verb::delete_) r.body = "{\"deleted\":" + std::to_string(shared_.log.clear()) + "}";
      else r = error_reply(405, "Use GET or DELETE.", "method_not_allowed");
    } else {
      shared_.log.add(req);
      r = shared_.provider.handle(req);
    }
    return r;
  }

  void begin() {
    next_event_ = 0;
    if (reply_.hang) return drain();
    if (reply_.early_hints) {
      // An interim response in its own write, and a pause, so it reaches the client on its own.
      reply_.early_hints = false;
      out_ = "HTTP/1.1 103 Early Hints\r\nLink: </fake.css>; rel=preload\r\n\r\n";
      return write(&Session::pause_then_begin);
    }
    if (reply_.latency_ms > 0 || (reply_.stream && (reply_.interval_ms > 0 || reply_.first_content_delay_ms > 0))) watch();
    if (reply_.latency_ms > 0) return wait(reply_.latency_ms, &Session::send_head);
    send_head();
  }

  void pause_then_begin() { wait(20, &Session::begin); }

  void send_head() {
    // Without a stream there is nothing to cut: reset sends RST, truncate closes (FIN) before any byte.
    if (reply_.end != Reply::End::normal && !reply_.stream) return abort(reply_.end == Reply::End::reset);
    out_.clear();
    append_head();
    if (!reply_.stream) {
      if (!reply_.chunked_body) {
        out_ += reply_.body;
        return write(&Session::finish);
      }
      constexpr std::size_t kPiece = 64 * 1024;
      for (std::size_t at = 0; at < reply_.body.size(); at += kPiece)
        frame(std::string_view(reply_.body).substr(at, kPiece));
      out_ += "0\r\n\r\n";
      return write(&Session::finish);
    }
    limit_ = reply_.end == Reply::End::normal ? reply_.events.size() : reply_.cut;
    if (reply_.interval_ms > 0 || reply_.first_content_delay_ms > 0) return write(&Session::next_event);
    // No pacing asked for: the whole stream goes out in one write.
    for (std::size_t i = 0; i < limit_; ++i) frame(reply_.events[i]);
    next_event_ = limit_;
    if (reply_.end == Reply::End::reset || reply_.end == Reply::End::stall || !chunked_)
      return write(&Session::end_stream);
    out_ += "0\r\n\r\n";
    write(&Session::finish);
  }

  void append_head() {
    out_ += "HTTP/1.1 ";
    if (!reply_.status_line.empty()) {
      out_ += reply_.status_line;
    } else {
      append_num(out_, reply_.status);
      out_ += ' ';
      out_ += reason(reply_.status);
    }
    out_ += "\r\nContent-Type: ";
    out_ += reply_.content_type;
    if (reply_.stream || reply_.chunked_body) {
      if (reply_.stream) out_ += "\r\nCache-Control: no-cache";
      if (chunked_) out_ += "\r\nTransfer-Encoding: chunked";
    } else {
      out_ += "\r\nContent-Length: ";
      append_num(out_, reply_.body.size());
    }
    out_ += "\r\n";
    out_ += reply_.headers;
    if (!keep_alive_) out_ += "Connection: close\r\n";
    else if (http10_) out_ += "Connection: keep-alive\r\n";
    out_ += "\r\n";
  }

  void frame(std::string_view event) {
    if (chunked_) {
      append_num(out_, event.size(), 16);
      out_ += "\r\n";
    }
    out_ += event;
    if (chunked_) out_ += "\r\n";
  }

  // Paced stream: every event is its own write, so a buffering client-side proxy shows up in tests.
  void next_event() {
    if (next_event_ == limit_) {
      if (reply_.end == Reply::End::reset && next_event_ > 0) return wait(reply_.interval_ms, &Session::end_stream);
      return end_stream();
    }
    if (next_event_ == 0) return send_event();
    if (next_event_ == reply_.first_content && reply_.first_content_delay_ms > 0)
      return wait(reply_.first_content_delay_ms, &Session::send_event);
    wait(reply_.interval_ms, &Session::send_event);
  }

  void send_event() {
    out_.clear();
    frame(reply_.events[next_event_++]);
    write(&Session::next_event);
  }

  void end_stream() {
    if (reply_.end == Reply::End::reset) return abort(true);
    if (reply_.end == Reply::End::stall) return drain();  // silent, open until the client gives up
    if (!chunked_) return finish();
    out_.assign("0\r\n\r\n");
    write(&Session::finish);
  }

  void finish() {
    if (watching_) {
      watching_ = false;
      error_code ec;
      sock_.cancel(ec);  // only the disconnect probe is pending here
    }
    if (!keep_alive_) {
      closed_ = true;
      error_code ec;
      sock_.shutdown(tcp::socket::shutdown_send, ec);
      sock_.close(ec);
      return;
    }
    read();
  }

  void write(Step next) {
    asio::async_write(sock_, asio::buffer(out_), [self = shared_from_this(), next](error_code ec, std::size_t) {
      if (self->closed_) return;
      if (ec) return self->abort(false);
      ((*self).*next)();
    });
  }

  void wait(int ms, Step next) {
    timer_.expires_after(std::chrono::milliseconds(ms));
    timer_.async_wait([self = shared_from_this(), next](error_code ec) {
      if (ec || self->closed_) return;
      ((*self).*next)();
    });
  }

  // While a reply waits on a timer, notice the client leaving so the timer does not keep the
  // connection alive for its whole duration.
  void watch() {
    watching_ = true;
    sock_.async_wait(tcp::socket::wait_read, [self = shared_from_this(), gen = generation_](error_code ec) {
      if (ec || self->closed_ || gen != self->generation_) return;
      self->watching_ = false;
      char c;
      error_code peek_ec;
      std::size_t n = self->sock_.receive(asio::buffer(&c, 1), tcp::socket::message_peek, peek_ec);
      if (peek_ec == asio::error::would_block) return self->watch();
      if (peek_ec || n == 0) return self->abort(false);
      // Otherwise a pipelined request is waiting; it is read once this reply is done.
    });
  }

  // A hanging reply sends nothing; read and discard until the client gives up.
  void drain() {
    sock_.async_read_some(buf_.prepare(4096), [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec || self->closed_) return self->abort(false);
      self->drain();
    });
  }

  void abort(bool reset) {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    error_code ec;
    if (reset) sock_.set_option(asio::socket_base::linger(true, 0), ec);  // close() now sends RST
    sock_.close(ec);
  }

  tcp::socket sock_;
  asio::steady_timer timer_;
  Shared& shared_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Reply reply_;
  std::string out_;
  std::size_t next_event_ = 0, limit_ = 0;
  unsigned generation_ = 0;  // per request, so a stale probe completion is ignored
  bool keep_alive_ = true, http10_ = false, chunked_ = true;
  bool watching_ = false, closed_ = false;
};

struct Worker {
  asio::io_context ioc{1};
  std::thread thread;
};

// One acceptor rather than one SO_REUSEPORT socket per thread: with SO_REUSEPORT a second
// instance started on a busy port would bind too and silently take half the connections.
class Acceptor {
 public:
  Acceptor(std::vector<std::unique_ptr<Worker>>& workers, Shared& shared, const tcp::endpoint& ep)
      : workers_(workers), shared_(shared), acceptor_(workers[0]->ioc), retry_(workers[0]->ioc) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  void accept() {
    asio::io_context& target = workers_[next_++ % workers_.size()]->ioc;
    acceptor_.async_accept(target, [this](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        asio::post(socket.get_executor(), [socket = std::move(socket), &shared = shared_]() mutable {
          std::make_shared<Session>(std::move(socket), shared)->start();
        });
        return accept();
      }
      // Typically out of file descriptors: try again shortly instead of spinning.
      retry_.expires_after(std::chrono::milliseconds(50));
      retry_.async_wait([this](error_code e) {
        if (!e) accept();
      });
    });
  }

 private:
  std::vector<std::unique_ptr<Worker>>& workers_;
  Shared& shared_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::size_t next_ = 0;
};

void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

tcp::endpoint resolve(asio::io_context& ioc, std::string host, unsigned short port) {
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (!ec) return {addr, port};
  tcp::resolver resolver(ioc);
  return resolver.resolve(host, std::to_string(port)).begin()->endpoint();
}

}  // namespace

int run_server(const Options& opt) {
  // Blocked before any thread starts, so only sigwait() below ever sees these signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();

  Shared shared{Provider(opt), {}};
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < std::max(1, opt.threads); ++i) workers.push_back(std::make_unique<Worker>());
  std::optional<Acceptor> acceptor;
  try {
    acceptor.emplace(workers, shared, resolve(workers[0]->ioc, opt.host, opt.tls.enabled() ? 0 : opt.port));
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen on " + opt.host + ":" + std::to_string(opt.port) + ": " +
                             e.code().message());
  }

  std::string host = opt.host;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  if (opt.tls.enabled()) {
    auto cleartext = resolve(workers[0]->ioc, opt.host, acceptor->port());
    unsigned short port = start_tls_front(workers[0]->ioc, opt.tls, resolve(workers[0]->ioc, opt.host, opt.port),
                                          cleartext);
    std::printf("listening on https://%s:%u\ncleartext on http://%s:%u\n", host.c_str(), unsigned(port),
                host.c_str(), unsigned(acceptor->port()));
  } else {
    std::printf("listening on http://%s:%u\n", host.c_str(), unsigned(acceptor->port()));
  }
  std::fflush(stdout);

  acceptor->accept();
  for (auto& w : workers) {
    w->thread = std::thread([&ioc = w->ioc] {
      // Keeps the thread serving when no connection is open yet.
      auto guard = asio::make_work_guard(ioc);
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {  // drops that one connection, keeps serving
          std::fprintf(stderr, "llmux-fake-provider: %s\n", e.what());
        }
      }
    });
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  for (auto& w : workers) w->ioc.stop();
  for (auto& w : workers) w->thread.join();
  return 0;
}

}  // namespace llmux::fake
