// Internal: the two ways UpstreamClient moves a request. CurlEngine (libcurl multi) handles
// everything: TLS, HTTP/2, proxies. Http1Engine (Beast over pooled keep-alive sockets) handles
// cleartext HTTP/1.1 upstreams with fewer syscalls and less CPU per request. Both are owned by one
// UpstreamClient and used only on its io_context's thread.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>

#include "http/upstream.hpp"

namespace llmux::http {

class TransferEngine {
 public:
  using TransferId = UpstreamClient::TransferId;
  virtual ~TransferEngine() = default;
  virtual void start(TransferId id, const UpstreamRequest& request, UpstreamHandler* handler) = 0;
  virtual void cancel(TransferId id) = 0;
  virtual void resume(TransferId id) = 0;
  // UpstreamClient::release_sent_request. An engine that cannot tell keeps everything.
  virtual bool release_sent_request(TransferId id, size_t& released) { return false; }
  virtual size_t active() const noexcept = 0;
};

std::unique_ptr<TransferEngine> make_curl_engine(boost::asio::io_context& io);
std::unique_ptr<TransferEngine> make_http1_engine(boost::asio::io_context& io);

}  // namespace llmux::http
