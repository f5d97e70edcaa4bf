#include "observability/provider_debug.hpp"

#include <algorithm>
#include <cstdlib>

#include "observability/log.hpp"

namespace llmux::observability {

namespace {

// Redacted before it is cut, so that a secret across the cut cannot leave its first half. When the
// kept window itself was cut, its end may hold the first part of a secret the redactor could not
// recognise; what is shown then stops where it can only come from the window's first half (each
// redaction that shortened the text pulls later bytes forward by as much).
void append_body(std::string& out, const Redactor& redactor, std::string_view body, size_t total) {
  std::string_view window = body.substr(0, 2 * kDebugBodyLimit);
  std::string shown = redactor.text(window);
  size_t limit = kDebugBodyLimit;
  if (total > window.size() && shown.size() < window.size()) limit -= std::min(limit, window.size() - shown.size());
  if (shown.size() > limit) shown.resize(limit);
  out += shown;
  if (total > kDebugBodyLimit) out += " ... (" + std::to_string(total) + " bytes in all)";
}

}  // namespace

bool glob_matches(std::string_view pattern, std::string_view text) noexcept {
  // Greedy with backtracking to the last '*': linear enough for names.
  size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool debug_spec_selects(std::string_view spec, std::string_view provider_id) noexcept {
  while (!spec.empty()) {
    size_t comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    constexpr std::string_view kPrefix = "provider:";
    if (item.starts_with(kPrefix) && glob_matches(item.substr(kPrefix.size()), provider_id)) return true;
  }
  return false;
}

bool provider_debug_enabled(std::string_view provider_id) noexcept {
  static const std::string spec = [] {
    const char* own = std::getenv("LLMUX_DEBUG");
    const char* seeds = std::getenv("DEBUG");
    return std::string(own ? own : seeds ? seeds : "");
  }();
  return !spec.empty() && debug_spec_selects(spec, provider_id);
}

UpstreamDebugTap::UpstreamDebugTap(http::UpstreamHandler& next, const providers::Provider& provider,
                                   const http::UpstreamRequest& request, std::string_view request_id)
    : next_(next), redactor_(provider) {
  prefix_ = "provider debug " + provider.id() + " request " + std::string(request_id) + ": ";
  std::string line = prefix_ + "-> " + request.method + " " + redactor_.url(request.url);
  request.for_each_header([&](const std::string& h) { line += "\n  " + redactor_.header_line(h); });
  line += "\n  body: ";
  append_body(line, redactor_, request.body, request.body.size());
  log_info(line);
}

UpstreamDebugTap::~UpstreamDebugTap() {
  if (!logged_) log_response("dropped by llmux (cancelled, or the client left)");
}

void UpstreamDebugTap::on_headers(int status, std::string_view content_type, std::string_view retry_after,
                                  std::string_view error_type) {
  status_ = status;
  response_headers_ = "\n  Content-Type: " + redactor_.text(content_type);
  if (!retry_after.empty()) response_headers_ += "\n  Retry-After: " + redactor_.text(retry_after);
  if (!error_type.empty())
    response_headers_ += "\n  " + std::string(http::kErrorTypeHeader) + ": " + redactor_.text(error_type);
  next_.on_headers(status, content_type, retry_after, error_type);
}

bool UpstreamDebugTap::on_body(std::string_view bytes) {
  body_bytes_ += bytes.size();
  if (body_.size() < 2 * kDebugBodyLimit) body_.append(bytes.substr(0, 2 * kDebugBodyLimit - body_.size()));
  return next_.on_body(bytes);
}

void UpstreamDebugTap::on_complete(const http::TransferResult& result) {
  log_response(result.failure == http::TransferFailure::none ? std::string_view("complete")
                                                             : std::string_view(result.detail));
  next_.on_complete(result);  // may end the exchange, and this tap with it: nothing after this
}

void UpstreamDebugTap::log_response(std::string_view outcome) {
  logged_ = true;
  std::string line = prefix_ + "<- " + (status_ ? std::to_string(status_) : std::string("no response")) + " (" +
                     redactor_.text(outcome) + ")" + response_headers_ + "\n  body: ";
  append_body(line, redactor_, body_, body_bytes_);
  log_info(line);
}

}  // namespace llmux::observability
