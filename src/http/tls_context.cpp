#include "http/tls_context.hpp"

#include <arpa/inet.h>

#include <atomic>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "observability/log.hpp"

namespace llmux::http {

namespace {

std::atomic<uint64_t> next_serial{1};

// The queue's first entry is where it went wrong ("tlsv1 alert protocol version"); the rest is
// how it was passed up.
std::string openssl_error_text() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(code);
  if (reason) return reason;
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

int store_session(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<TlsSessionSlot*>(SSL_get_app_data(ssl));
  if (!slot) return 0;
  slot->replace(session);
  return 1;  // the slot keeps the reference OpenSSL passed
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

int protocol_of(TlsVersion version) {
  switch (version) {
    case TlsVersion::tls1_3: return TLS1_3_VERSION;
    case TlsVersion::tls1_2:
    case TlsVersion::unset: return TLS1_2_VERSION;
  }
  return TLS1_2_VERSION;
}

}  // namespace

TlsClientContext::TlsClientContext(SSL_CTX* ctx, ProviderTlsConfig config)
    : ctx_(ctx), config_(std::move(config)), serial_(next_serial.fetch_add(1)) {}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

Expected<std::shared_ptr<const TlsClientContext>, std::string> TlsClientContext::make(const ProviderTlsConfig& config,
                                                                                    std::string_view provider_id) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return unexpected("cannot create a TLS context: " + openssl_error_text());
  std::shared_ptr<TlsClientContext> made(new TlsClientContext(ctx, config));
  SSL_CTX_set_min_proto_version(ctx, protocol_of(config.min_version));
  // Idle pooled connections give their record buffers back (about 34 KB each); writes may be
  // split over several calls and resumed from a moved buffer.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One recv() takes whatever has arrived instead of a 5-byte record header and then its body.
  SSL_CTX_set_read_ahead(ctx, 1);
  // Sessions are kept by each engine per host (TlsSessionSlot); OpenSSL's internal client cache
  // is never looked up by clients, so nothing is stored there.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &store_session);
  // A peer closing without close_notify reads as an end of stream; HTTP framing (Content-Length,
  // chunked) still tells a cut response from a complete one.
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (!config.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr) != 1)
      return unexpected("tls.ca_file '" + config.ca_file + "' cannot be loaded: " + openssl_error_text());
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return unexpected("the system CA store cannot be loaded: " + openssl_error_text());
  }
  if (!config.client_cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, config.client_cert.c_str()) != 1)
      return unexpected("tls.client_cert '" + config.client_cert + "' cannot be loaded: " + openssl_error_text());
    if (SSL_CTX_use_PrivateKey_file(ctx, config.client_key.c_str(), SSL_FILETYPE_PEM) != 1)
      return unexpected("tls.client_key '" + config.client_key + "' cannot be loaded: " + openssl_error_text());
    if (SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      return unexpected("tls.client_key '" + config.client_key + "' does not match tls.client_cert '" +
                        config.client_cert + "'");
    }
  }
  if (config.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    observability::log_warning("provider '" + std::string(provider_id) +
                               "': certificate validation is OFF (security.certificateValidation: false with "
                               "allowInsecure: true); anyone on the path can read and change its traffic");
  }
  ERR_clear_error();  // a success may leave entries (e.g. absent system CA paths) this thread would report later
  return std::shared_ptr<const TlsClientContext>(std::move(made));
}

std::string TlsClientContext::failure_reason(SSL* ssl, int ssl_error) {
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    ERR_clear_error();
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  }
  if (ssl_error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return "the server closed the connection";
  return openssl_error_text();
}

TlsSessionSlot& TlsClientContext::session_slot(const std::string& authority) const {
  std::lock_guard lock(slots_mutex_);
  return slots_[authority];
}

SSL* TlsClientContext::new_connection(int fd, const std::string& host, const std::string& authority) const {
  TlsSessionSlot* slot = &session_slot(authority);
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) return nullptr;
  const std::string& name = config_.server_name.empty() ? host : config_.server_name;
  bool ip = is_ip_literal(name);
  bool ok = SSL_set_fd(ssl, fd) == 1 && (ip || SSL_set_tlsext_host_name(ssl, name.c_str()) == 1);
  if (ok && config_.verify)
    ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1
            : SSL_set1_host(ssl, name.c_str()) == 1;
  if (!ok) {
    SSL_free(ssl);
    ERR_clear_error();
    return nullptr;
  }
  SSL_set_app_data(ssl, slot);
  slot->resume(ssl);
  SSL_set_connect_state(ssl);
  return ssl;
}

}  // namespace llmux::http
