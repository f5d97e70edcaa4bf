// HTTPS for clients: the TLS context built from server.tls. One context serves every connection
// accepted while it is current; a reload builds a new one and each connection keeps (shares) the
// context it was accepted with, so a certificate change never touches an open connection.
#pragma once

#include <memory>
#include <string>

#include "llmux/config.hpp"
#include "llmux/expected.hpp"

namespace boost::asio::ssl {
class context;
}

namespace llmux::server {

using ClientTlsContext = std::shared_ptr<boost::asio::ssl::context>;

// The context for `tls` with its certificate chain and key loaded and checked against each other,
// or a message naming the file and what is wrong with it (unreadable, not PEM, key does not match).
Expected<ClientTlsContext, std::string> make_client_tls_context(const ServerTlsConfig& tls);

// What a context was built from: the settings and both files' contents. A reload rebuilds the
// context only when this changes.
std::string client_tls_fingerprint(const ServerTlsConfig& tls);

}  // namespace llmux::server
