// One provider's TLS client settings as an OpenSSL context. Built with the provider when a config
// snapshot is built (never on the request path), then shared read-only by every worker thread:
// SSL_CTX is safe for concurrent SSL_new once configured. Connections hold a reference, so a
// pooled connection outlives a reload that dropped its provider safely.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <openssl/ssl.h>

#include "llmux/config.hpp"
#include "llmux/expected.hpp"

namespace llmux::http {

// Where one host's latest TLS session is kept for the next connection to resume, shared by all
// worker threads (a new connection on any of them resumes). A connection names its slot in the
// SSL object's app data, and OpenSSL hands new sessions (TLS 1.2 after the handshake, TLS 1.3
// with each ticket) to it. Touched only when a connection is opened or a ticket arrives, never
// per request; the lock is held for a pointer swap, never across I/O.
class TlsSessionSlot {
 public:
  TlsSessionSlot() = default;
  TlsSessionSlot(const TlsSessionSlot&) = delete;
  TlsSessionSlot& operator=(const TlsSessionSlot&) = delete;
  ~TlsSessionSlot() { replace(nullptr); }
  // Takes over the reference passed.
  void replace(SSL_SESSION* session) noexcept {
    SSL_SESSION* old;
    {
      std::lock_guard lock(mutex_);
      old = session_;
      session_ = session;
    }
    if (old) SSL_SESSION_free(old);
  }
  // Sets the latest session on `ssl` (which then holds its own reference), if there is one.
  void resume(SSL* ssl) const noexcept {
    std::lock_guard lock(mutex_);
    if (session_) SSL_set_session(ssl, session_);
  }

 private:
  mutable std::mutex mutex_;
  SSL_SESSION* session_ = nullptr;
};

class TlsClientContext : public std::enable_shared_from_this<TlsClientContext> {
 public:
  // Loads the CA store (tls.ca_file, else the system's), the client certificate and key, and the
  // minimum version; an unreadable or invalid file is an error naming it. Certificate checks off
  // (allowed only with allowInsecure) logs a warning naming `provider_id`.
  static Expected<std::shared_ptr<const TlsClientContext>, std::string> make(const ProviderTlsConfig& config,
                                                                            std::string_view provider_id);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  SSL_CTX* native() const noexcept { return ctx_; }
  const ProviderTlsConfig& config() const noexcept { return config_; }
  // Distinguishes contexts in connection pool keys (an address could be reused after a reload).
  uint64_t serial() const noexcept { return serial_; }

  // Why a handshake on `ssl` failed, from the certificate check's result or OpenSSL's error queue
  // ("certificate has expired", "Hostname mismatch", "tlsv1 alert protocol version").
  static std::string failure_reason(SSL* ssl, int ssl_error);

  // A new connection's SSL object: SNI and the verified name set to `host` (or tls.server_name),
  // resuming the latest session of `authority` (host:port) and storing new ones for it. nullptr
  // on failure.
  SSL* new_connection(int fd, const std::string& host, const std::string& authority) const;

 private:
  TlsClientContext(SSL_CTX* ctx, ProviderTlsConfig config);
  TlsSessionSlot& session_slot(const std::string& authority) const;

  SSL_CTX* ctx_;
  ProviderTlsConfig config_;
  uint64_t serial_;
  mutable std::mutex slots_mutex_;
  // Never erased while the context lives (one per host the provider reaches), so the slot
  // pointers SSL objects hold stay valid; connections hold the context.
  mutable std::map<std::string, TlsSessionSlot, std::less<>> slots_;
};

}  // namespace llmux::http
