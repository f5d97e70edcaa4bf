// LLMUX_DEBUG=provider:* (or provider:NAME, or a glob such as provider:custom*; several separated
// by commas; the seeds' DEBUG=provider:… works too): each upstream request and response of the
// matching providers is logged on stderr — method, URL, header lines, status and the first
// kDebugBodyLimit bytes of each body — with every credential redacted (redact.hpp). For
// debugging only: it costs a log line per attempt, nothing when the variable is unset.
//
// Thread-safety: provider_debug_enabled may be called from any thread (the variable is read
// once). An UpstreamDebugTap lives on its exchange's thread, like the exchange.
#pragma once

#include <string>
#include <string_view>

#include "http/upstream.hpp"
#include "observability/redact.hpp"

namespace llmux::observability {

inline constexpr size_t kDebugBodyLimit = 4096;

// Whether `pattern` (the part after "provider:") selects `provider_id`: '*' matches any run of
// characters, everything else itself.
bool glob_matches(std::string_view pattern, std::string_view text) noexcept;
// For tests and for the variable's value: whether `spec` ("provider:a,provider:b*") selects it.
bool debug_spec_selects(std::string_view spec, std::string_view provider_id) noexcept;
// Against LLMUX_DEBUG, else DEBUG, as read at the first call.
bool provider_debug_enabled(std::string_view provider_id) noexcept;

// Sits between the upstream client and the exchange for one attempt: forwards every call, logs
// the request when made and the response when complete (or when the attempt is dropped).
class UpstreamDebugTap final : public http::UpstreamHandler {
 public:
  UpstreamDebugTap(http::UpstreamHandler& next, const providers::Provider& provider, const http::UpstreamRequest& request,
                   std::string_view request_id);
  ~UpstreamDebugTap() override;
  UpstreamDebugTap(const UpstreamDebugTap&) = delete;
  UpstreamDebugTap& operator=(const UpstreamDebugTap&) = delete;

  void on_headers(int status, std::string_view content_type, std::string_view retry_after,
                  std::string_view error_type) override;
  bool on_body(std::string_view bytes) override;
  void on_complete(const http::TransferResult& result) override;

 private:
  void log_response(std::string_view outcome);

  http::UpstreamHandler& next_;
  Redactor redactor_;
  std::string prefix_;  // "provider debug NAME request ID: "
  int status_ = 0;
  std::string response_headers_;
  std::string body_;
  size_t body_bytes_ = 0;
  bool logged_ = false;
};

}  // namespace llmux::observability
