// TLS in front of the fake provider: terminates TLS (Asio's ssl::stream over OpenSSL) and relays
// each connection's bytes to the cleartext server, one backend connection per TLS connection, so
// keep-alive, resets and closes pass through. Counts connections, handshakes and resumed sessions
// for tests (GET /_fake/tls).
#pragma once

#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace llmux::fake {

struct TlsOptions {
  std::string cert;         // --tls-cert: PEM chain; TLS is on when set
  std::string key;          // --tls-key
  std::string max_version;  // --tls-max-version 1.2|1.3
  std::string client_ca;    // --tls-client-ca: require a client certificate signed by this CA
  bool enabled() const { return !cert.empty(); }
};

// Listens on `listen` and relays to `backend`; returns the bound port. Throws on a bad
// certificate or key.
unsigned short start_tls_front(boost::asio::io_context& io, const TlsOptions& options,
                               const boost::asio::ip::tcp::endpoint& listen,
                               const boost::asio::ip::tcp::endpoint& backend);

// {"accepted":N,"handshakes":N,"resumed":N,"failed":N}
std::string tls_stats_json();

}  // namespace llmux::fake
