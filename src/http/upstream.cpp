#include "http/upstream.hpp"

#include <cstdlib>
#include <cstring>

#include "http/transfer_engine.hpp"

namespace llmux::http {

namespace {

// Cleartext upstreams go through the lean HTTP/1.1 engine unless a proxy is configured for them
// (only curl speaks proxies) or LLMUX_UPSTREAM_ENGINE=curl asks for curl everywhere.
bool http1_allowed() {
  if (const char* forced = std::getenv("LLMUX_UPSTREAM_ENGINE"); forced && std::strcmp(forced, "curl") == 0)
    return false;
  for (const char* var : {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"}) {
    const char* v = std::getenv(var);
    if (v && *v) return false;
  }
  return true;
}

}  // namespace

struct UpstreamClient::Impl {
  explicit Impl(boost::asio::io_context& io)
      : curl(make_curl_engine(io)), http1(http1_allowed() ? make_http1_engine(io) : nullptr) {}

  // Ids are odd for curl transfers and even for HTTP/1.1 ones, so cancel/resume need no lookup.
  TransferEngine& engine_of(TransferId id) { return (id & 1) || !http1 ? *curl : *http1; }

  std::unique_ptr<TransferEngine> curl;
  std::unique_ptr<TransferEngine> http1;
  TransferId next = 0;
};

UpstreamClient::UpstreamClient(boost::asio::io_context& io) : impl_(std::make_unique<Impl>(io)) {}
UpstreamClient::~UpstreamClient() = default;

UpstreamClient::TransferId UpstreamClient::start(const UpstreamRequest& request, UpstreamHandler* handler) {
  bool cleartext = request.url.compare(0, 7, "http://") == 0;
  TransferId id = (++impl_->next) << 1;
  if (cleartext && impl_->http1) {
    impl_->http1->start(id, request, handler);
  } else {
    id |= 1;
    impl_->curl->start(id, request, handler);
  }
  return id;
}

void UpstreamClient::cancel(TransferId id) { impl_->engine_of(id).cancel(id); }
void UpstreamClient::resume(TransferId id) { impl_->engine_of(id).resume(id); }

size_t UpstreamClient::active_transfers() const noexcept {
  return impl_->curl->active() + (impl_->http1 ? impl_->http1->active() : 0);
}

}  // namespace llmux::http
