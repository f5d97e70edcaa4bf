#include "http/upstream.hpp"

#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "http/transfer_engine.hpp"

namespace llmux::http {

namespace {

bool curl_forced() {
  const char* forced = std::getenv("LLMUX_UPSTREAM_ENGINE");
  return forced && std::strcmp(forced, "curl") == 0;
}

bool any_set(std::initializer_list<const char*> vars) {
  for (const char* var : vars) {
    const char* v = std::getenv(var);
    if (v && *v) return true;
  }
  return false;
}

// Upstreams go through the lean HTTP/1.1 engine unless a proxy is configured for their scheme
// (only curl speaks proxies) or LLMUX_UPSTREAM_ENGINE=curl asks for curl everywhere.
bool http1_allowed() { return !curl_forced() && !any_set({"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"}); }
bool https1_allowed() {
  return !curl_forced() && !any_set({"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"});
}

}  // namespace

struct UpstreamClient::Impl {
  explicit Impl(boost::asio::io_context& io)
      : curl(make_curl_engine(io)),
        cleartext_direct(http1_allowed()),
        tls_direct(https1_allowed()),
        http1(cleartext_direct || tls_direct ? make_http1_engine(io) : nullptr) {}

  // Whether the HTTP/1.1 engine takes this request: http:// unless proxied; https:// when the
  // provider built TLS settings for it and no proxy is set for https.
  bool direct(const UpstreamRequest& request) const {
    if (!http1 || request.protocol == UpstreamRequest::Protocol::http2) return false;
    if (request.url.compare(0, 7, "http://") == 0) return cleartext_direct;
    return tls_direct && request.tls && request.url.compare(0, 8, "https://") == 0;
  }

  // Ids are odd for curl transfers and even for HTTP/1.1 ones, so cancel/resume need no lookup.
  TransferEngine& engine_of(TransferId id) { return (id & 1) || !http1 ? *curl : *http1; }

  std::unique_ptr<TransferEngine> curl;
  bool cleartext_direct;
  bool tls_direct;
  std::unique_ptr<TransferEngine> http1;
  TransferId next = 0;
};

UpstreamClient::UpstreamClient(boost::asio::io_context& io) : impl_(std::make_unique<Impl>(io)) {}
UpstreamClient::~UpstreamClient() = default;

UpstreamClient::TransferId UpstreamClient::start(const UpstreamRequest& request, UpstreamHandler* handler) {
  TransferId id = (++impl_->next) << 1;
  if (impl_->direct(request)) {
    impl_->http1->start(id, request, handler);
  } else {
    id |= 1;
    impl_->curl->start(id, request, handler);
  }
  return id;
}

void UpstreamClient::cancel(TransferId id) { impl_->engine_of(id).cancel(id); }
void UpstreamClient::resume(TransferId id) { impl_->engine_of(id).resume(id); }
bool UpstreamClient::release_sent_request(TransferId id, size_t& released) {
  return impl_->engine_of(id).release_sent_request(id, released);
}

size_t UpstreamClient::active_transfers() const noexcept {
  return impl_->curl->active() + (impl_->http1 ? impl_->http1->active() : 0);
}

}  // namespace llmux::http
