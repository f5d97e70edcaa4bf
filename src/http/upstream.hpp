// Upstream HTTP client. Cleartext and TLS HTTP/1.1 upstreams go through pooled keep-alive
// connections of its own (http1_engine.cpp); libcurl's multi interface, driven by the same
// io_context, does what only it does (proxies, an https request without provider TLS settings). One UpstreamClient
// per io_context thread; it is NOT thread-safe and must only be used from its io_context's thread.
// Connections are pooled per client, so requests from one worker thread reuse that thread's
// keep-alive connections without any locking.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace llmux::http {

class TlsClientContext;

// A request's own header lines ("Name: value"). Emptied for each request, it keeps the strings
// it has grown, so a warm connection builds them without allocating; lines past size() are never
// visible.
class HeaderLines {
 public:
  // A new, empty line to fill.
  std::string& add() {
    if (used_ == lines_.size()) lines_.emplace_back();
    std::string& line = lines_[used_++];
    line.clear();
    return line;
  }
  void push_back(std::string_view line) { add().assign(line); }
  void clear() noexcept { used_ = 0; }
  // Empties it and frees every line's storage. Returns the bytes freed.
  size_t release() noexcept {
    size_t freed = lines_.capacity() * sizeof(std::string);
    for (const auto& line : lines_)
      if (line.capacity() > std::string().capacity()) freed += line.capacity();
    lines_ = {};
    used_ = 0;
    return freed;
  }
  size_t size() const noexcept { return used_; }
  bool empty() const noexcept { return used_ == 0; }
  const std::string* begin() const noexcept { return lines_.data(); }
  const std::string* end() const noexcept { return lines_.data() + used_; }

 private:
  std::vector<std::string> lines_;
  size_t used_ = 0;
};

// The response header AWS services name an error's exception in ("ThrottlingException:http://…").
inline constexpr std::string_view kErrorTypeHeader = "x-amzn-ErrorType";

struct UpstreamRequest {
  std::string method = "POST";
  std::string url;
  // "Name: value" lines. `common_headers` (credential and custom headers) belong to the provider,
  // which outlives every request it builds; `headers` are this request's own.
  const std::vector<std::string>* common_headers = nullptr;
  HeaderLines headers;
  std::string body;
  // The provider's TLS settings for an https URL (owned by the provider). Without it, an https
  // request goes through curl with its defaults.
  const TlsClientContext* tls = nullptr;
  // The provider's http_version: HTTP/2 goes through curl, which multiplexes streams on few
  // connections; otherwise the HTTP/1.1 engine's pool unless a proxy needs curl (which then offers
  // HTTP/2 by ALPN unless http1_1 was asked for).
  enum class Protocol : uint8_t { any, http1_1, http2 };
  Protocol protocol = Protocol::any;
  // Time allowed until the response headers arrive, and afterwards between two body reads.
  std::chrono::milliseconds timeout{60000};
  static constexpr std::chrono::milliseconds kDefaultConnectTimeout{10000};
  std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout;
  // Response body bytes allowed (0 = no limit): a buffered response must not grow without bound.
  // Beyond it the transfer fails with TransferFailure::too_large and its connection is closed.
  uint64_t max_response_bytes = 0;
  // How long the connection may then wait in the pool for another request before it is closed.
  static constexpr std::chrono::milliseconds kDefaultIdleConnectionTimeout{30000};
  std::chrono::milliseconds idle_connection_timeout = kDefaultIdleConnectionTimeout;

  template <typename F>
  void for_each_header(F&& f) const {
    if (common_headers)
      for (const auto& h : *common_headers) f(h);
    for (const auto& h : headers) f(h);
  }
  std::vector<std::string> all_headers() const {
    std::vector<std::string> out;
    for_each_header([&](const std::string& h) { out.push_back(h); });
    return out;
  }
};

enum class TransferFailure {
  none,
  connect,
  timeout,
  reset,
  cancelled,
  bad_status,  // a final status outside 2xx/4xx/5xx (1xx such as 101, 3xx, 600+): never passed on
  too_large,   // the body exceeded max_response_bytes
  not_allowed,  // the upstream guard refused the address (http/upstream_guard.hpp): nothing was sent
  other,
};

struct TransferResult {
  TransferFailure failure = TransferFailure::none;
  std::string detail;  // what went wrong, safe to show (no credentials)
};

// A final response status llmux passes on: 2xx, 4xx or 5xx. Redirects are never followed.
constexpr bool acceptable_status(long status) noexcept {
  return (status >= 200 && status < 300) || (status >= 400 && status < 600);
}

// Receives a transfer's events on the client's thread. Implementations must outlive the transfer
// or cancel it first.
class UpstreamHandler {
 public:
  virtual ~UpstreamHandler() = default;
  // Response headers are complete: the values of Content-Type, Retry-After and x-amzn-ErrorType
  // (the exception AWS services name), each "" if absent.
  virtual void on_headers(int status, std::string_view content_type, std::string_view retry_after,
                          std::string_view error_type) = 0;
  // Body bytes as they arrive. Return false to pause the transfer (resume() restarts it); while
  // paused its inactivity timeout does not run (the pause is llmux's, not the upstream's).
  virtual bool on_body(std::string_view bytes) = 0;
  // Final call; after it the transfer id is invalid.
  virtual void on_complete(const TransferResult& result) = 0;
};

class UpstreamClient {
 public:
  using TransferId = uint64_t;

  explicit UpstreamClient(boost::asio::io_context& io);
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  // Starts a transfer. The request is not copied: it must stay alive and unchanged until the
  // transfer completes or is cancelled.
  TransferId start(const UpstreamRequest& request, UpstreamHandler* handler);
  // Stops a transfer; its handler gets no further calls (not even on_complete).
  void cancel(TransferId id);
  // Restarts a transfer paused by on_body returning false.
  void resume(TransferId id);
  // For a long response (a stream), between its reads: once the request has been sent for good
  // (its response head has arrived, so it is never sent again), the engine frees its own copy of
  // the request's head and returns true: the caller may then free the request's body and header
  // lines (url, timeouts and limits are still read). False while the request may still be sent,
  // and for curl's transfers (curl sends the body from where it lies, and may still be sending
  // it). Adds the bytes freed to `released`.
  bool release_sent_request(TransferId id, size_t& released);

  size_t active_transfers() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmux::http
