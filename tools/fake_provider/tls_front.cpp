#include "tls_front.hpp"

#include <array>
#include <atomic>
#include <memory>

#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

namespace llmux::fake {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

struct Counters {
  std::atomic<long> accepted{0}, handshakes{0}, resumed{0}, failed{0};
};
Counters counters;

class Relay : public std::enable_shared_from_this<Relay> {
 public:
  Relay(tcp::socket socket, ssl::context& context, const tcp::endpoint& backend)
      : front_(std::move(socket), context), back_(front_.get_executor()), backend_(backend) {}

  void start() {
    front_.async_handshake(ssl::stream_base::server, [self = shared_from_this()](error_code ec) {
      if (ec) {
        counters.failed.fetch_add(1);
        return self->close(false);
      }
      counters.handshakes.fetch_add(1);
      if (SSL_session_reused(self->front_.native_handle())) counters.resumed.fetch_add(1);
      self->back_.async_connect(self->backend_, [self](error_code ec) {
        if (ec) return self->close(false);
        self->back_.set_option(tcp::no_delay(true), ec);
        self->pump_front();
        self->pump_back();
      });
    });
  }

 private:
  void pump_front() {
    front_.async_read_some(asio::buffer(from_front_), [self = shared_from_this()](error_code ec, std::size_t n) {
      if (ec) return self->close(false);
      asio::async_write(self->back_, asio::buffer(self->from_front_.data(), n), [self](error_code ec, std::size_t) {
        if (ec) return self->close(false);
        self->pump_front();
      });
    });
  }

  void pump_back() {
    back_.async_read_some(asio::buffer(from_back_), [self = shared_from_this()](error_code ec, std::size_t n) {
      // A reset by the fake (its reset knobs) is passed on as a reset.
      if (ec) return self->close(ec == asio::error::connection_reset);
      asio::async_write(self->front_, asio::buffer(self->from_back_.data(), n), [self](error_code ec, std::size_t) {
        if (ec) return self->close(false);
        self->pump_back();
      });
    });
  }

  void close(bool reset) {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    if (reset) front_.lowest_layer().set_option(asio::socket_base::linger(true, 0), ec);
    front_.lowest_layer().close(ec);
    back_.close(ec);
  }

  ssl::stream<tcp::socket> front_;
  tcp::socket back_;
  tcp::endpoint backend_;
  std::array<char, 16 * 1024> from_front_{}, from_back_{};
  bool closed_ = false;
};

class Front {
 public:
  Front(asio::io_context& io, const TlsOptions& options, const tcp::endpoint& listen, const tcp::endpoint& backend)
      : context_(ssl::context::tls_server), acceptor_(io), backend_(backend) {
    context_.use_certificate_chain_file(options.cert);
    context_.use_private_key_file(options.key, ssl::context::pem);
    SSL_CTX* ctx = context_.native_handle();
    static const unsigned char kSessionContext[] = "llmux-fake";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
    if (options.max_version == "1.2") SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    if (!options.client_ca.empty()) {
      context_.load_verify_file(options.client_ca);
      context_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    acceptor_.open(listen.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(listen);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  void accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        counters.accepted.fetch_add(1);
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Relay>(std::move(socket), context_, backend_)->start();
      }
      accept();
    });
  }

 private:
  ssl::context context_;
  tcp::acceptor acceptor_;
  tcp::endpoint backend_;
};

}  // namespace

unsigned short start_tls_front(asio::io_context& io, const TlsOptions& options, const tcp::endpoint& listen,
                               const tcp::endpoint& backend) {
  static std::unique_ptr<Front> front;  // lives as long as the process serves
  front = std::make_unique<Front>(io, options, listen, backend);
  front->accept();
  return front->port();
}

std::string tls_stats_json() {
  return "{\"accepted\":" + std::to_string(counters.accepted.load()) +
         ",\"handshakes\":" + std::to_string(counters.handshakes.load()) +
         ",\"resumed\":" + std::to_string(counters.resumed.load()) +
         ",\"failed\":" + std::to_string(counters.failed.load()) + "}";
}

}  // namespace llmux::fake
