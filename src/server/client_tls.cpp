#include "server/client_tls.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

namespace llmux::server {

namespace ssl = boost::asio::ssl;

namespace {

Expected<std::string, std::string> read_file(const std::string& path, const char* setting) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(std::string(setting) + " " + path + ": cannot read it: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The newest OpenSSL error queued, as text ("no start line", "key values mismatch"), and the
// queue cleared so the next call starts clean.
std::string openssl_reason(std::string_view fallback) {
  unsigned long code = 0, last = 0;
  while ((code = ERR_get_error()) != 0) last = code;
  if (last == 0) return std::string(fallback);
  const char* reason = ERR_reason_error_string(last);
  return reason ? reason : std::string(fallback);
}

}  // namespace

std::string client_tls_fingerprint(const ServerTlsConfig& tls) {
  std::string out = tls.cert_file + '\0' + tls.key_file + '\0' +
                    (tls.min_version == ServerTlsConfig::MinVersion::tls1_3 ? "1.3" : "1.2") + '\0';
  // Hashes, not the contents: the key must not stay in memory outside OpenSSL.
  for (const std::string* path : {&tls.cert_file, &tls.key_file}) {
    auto text = read_file(*path, "");
    out += text ? std::to_string(std::hash<std::string>{}(*text)) : "-";
    out += '\0';
    if (text) OPENSSL_cleanse(text->data(), text->size());
  }
  return out;
}

Expected<ClientTlsContext, std::string> make_client_tls_context(const ServerTlsConfig& tls) {
  if (tls.cert_file.empty() || tls.key_file.empty())
    return unexpected(std::string("server.tls needs both cert and key"));
  // Read first so a missing or unreadable file is named with the system's reason.
  auto cert = read_file(tls.cert_file, "server.tls.cert");
  if (!cert) return unexpected(cert.error());
  auto key = read_file(tls.key_file, "server.tls.key");
  if (!key) return unexpected(key.error());

  struct Wipe {
    std::string& text;
    ~Wipe() { OPENSSL_cleanse(text.data(), text.size()); }
  } wipe_key{*key};
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(native, tls.min_version == ServerTlsConfig::MinVersion::tls1_3 ? TLS1_3_VERSION
                                                                                               : TLS1_2_VERSION);
  // No renegotiation (a client could make the server redo handshakes at will) and no compression.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // OpenSSL's own record buffers go back to the heap while a connection has nothing in flight.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  boost::system::error_code ec;
  context->use_certificate_chain(boost::asio::buffer(*cert), ec);
  if (ec) return unexpected("server.tls.cert " + tls.cert_file + ": not a PEM certificate (" + openssl_reason(ec.message()) + ")");
  auto mismatch = [&] {
    return unexpected("server.tls.key " + tls.key_file + " does not match the certificate in " + tls.cert_file);
  };
  context->use_private_key(boost::asio::buffer(*key), ssl::context::pem, ec);
  if (ec) {
    // OpenSSL compares the key with the certificate as it loads it.
    // The error code is OpenSSL's (asio took it off the queue).
    if (ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) return mismatch();
    return unexpected("server.tls.key " + tls.key_file + ": not a PEM private key (" + openssl_reason(ec.message()) + ")");
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return mismatch();
  }
  return context;
}

}  // namespace llmux::server
