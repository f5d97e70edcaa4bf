// HTTP/1.1 message parsers that keep only what llmux reads. Beast's `http::parser` stores every
// header in an allocated field list, per message; these derive from Beast's `basic_parser` (the
// same tokenizer, limits and chunked decoding) and copy a handful of values into strings owned by
// the connection, which keep their capacity from one message to the next.
//
// A parser is constructed per message (construction is trivial; basic_parser has no reset) and is
// not thread-safe; it lives on its connection's thread.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <algorithm>
#include <string>
#include <string_view>

#include "core/text.hpp"
#include "http/upstream.hpp"

namespace llmux::http {

// Framing the request reader refuses (RFC 9112 §6): a message whose body length two parties could
// read differently is a smuggling vector, so it is a parse error (400, connection closed).
enum class FramingError {
  transfer_encoding_not_chunked = 1,  // any coding but exactly "chunked", or Transfer-Encoding twice
  transfer_encoding_with_content_length,
  transfer_encoding_in_http10,
};
const boost::system::error_category& framing_category() noexcept;
}  // namespace llmux::http

template <>
struct boost::system::is_error_code_enum<llmux::http::FramingError> : std::true_type {};

namespace llmux::http {

inline boost::system::error_code make_error_code(FramingError e) noexcept {
  return {static_cast<int>(e), framing_category()};
}

// Beast applies header_limit to the bytes of one put() that are still unparsed: the complete
// fields of every put are consumed, so a head sent in small pieces would never reach the limit.
// This keeps it for the whole head: until the head is complete, Beast is shown only as many bytes
// as the head may still take, and a head that does not end within them fails with
// error::header_limit. Both parsers below are used through these put() and header_limit().
template <bool isRequest>
class HeadLimitedParser : public boost::beast::http::basic_parser<isRequest> {
  using base = boost::beast::http::basic_parser<isRequest>;

 public:
  void header_limit(std::uint32_t bytes) {
    head_limit_ = bytes;
    base::header_limit(bytes);
  }

  std::size_t put(boost::asio::const_buffer buffer, boost::beast::error_code& ec) {
    if (this->is_header_done()) return base::put(buffer, ec);
    size_t room = head_bytes_ < head_limit_ ? head_limit_ - head_bytes_ : 0;
    bool cut = buffer.size() > room;
    size_t used = base::put(cut ? boost::asio::const_buffer(buffer.data(), room) : buffer, ec);
    if (!this->is_header_done()) {
      head_bytes_ += used;
      if (cut && ec == boost::beast::http::error::need_more) ec = boost::beast::http::error::header_limit;
    }
    return used;
  }

 private:
  size_t head_limit_ = 8192;  // Beast's default
  size_t head_bytes_ = 0;     // of the head, consumed by earlier puts
};

// What the gateway reads from a client request.
struct RequestHead {
  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  int version = 11;  // 10 = HTTP/1.0, 11 = HTTP/1.1
  std::string target;
  std::string content_type;
  std::string authorization;
  std::string expect;
  std::string request_id;  // x-request-id
  std::string provider;    // x-llmux-provider
  std::string origin;      // CORS
  std::string fallbacks;   // x-llmux-fallbacks
  std::string timeout;     // x-llmux-timeout
  std::string if_match;       // the admin API's writes
  std::string cookie;         // the dashboard's session (/ui, and /api with cookie auth)
  std::string host;           // the dashboard's same-origin check
  std::string if_none_match;  // the dashboard's files (ETag)
  std::string x_api_key;          // Anthropic clients' credential: a gateway key like Authorization
  std::string anthropic_version;  // /v1/messages
  std::string anthropic_beta;     // forwarded to Claude (providers::EncodeInput::anthropic_beta)
  std::string body;

  void clear() {
    method = boost::beast::http::verb::unknown;
    for (auto* s : {&target, &content_type, &authorization, &expect, &request_id, &provider, &origin, &fallbacks, &timeout,
                    &if_match, &cookie, &host, &if_none_match, &x_api_key, &anthropic_version, &anthropic_beta, &body})
      s->clear();
  }
};

class RequestParser final : public HeadLimitedParser<true> {
 public:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  explicit RequestParser(RequestHead& head) : head_(head) {}

 private:
  void on_request_impl(boost::beast::http::verb method, string_view, string_view target, int version,
                       error_code&) override {
    head_.method = method;
    head_.version = version;
    head_.target.assign(target.data(), target.size());
    http10_ = version < 11;
  }
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& ec) override {
    using boost::beast::http::field;
    // Trailer fields (after a chunked body) are not the client's headers: they must not
    // authenticate or route a request whose head has already been read.
    if (is_header_done()) return;
    if (name == field::transfer_encoding || name == field::content_length) {
      check_framing(name == field::transfer_encoding, value, ec);
      return;
    }
    std::string* into = nullptr;
    switch (name) {
      case field::content_type: into = &head_.content_type; break;
      case field::authorization: into = &head_.authorization; break;
      case field::expect: into = &head_.expect; break;
      case field::origin: into = &head_.origin; break;
      case field::if_match: into = &head_.if_match; break;
      case field::cookie: into = &head_.cookie; break;
      case field::host: into = &head_.host; break;
      case field::if_none_match: into = &head_.if_none_match; break;
      default: {
        std::string_view n(name_string.data(), name_string.size());
        if (iequals(n, "x-request-id")) into = &head_.request_id;
        else if (iequals(n, "x-llmux-provider")) into = &head_.provider;
        else if (iequals(n, "x-llmux-fallbacks")) into = &head_.fallbacks;
        else if (iequals(n, "x-llmux-timeout")) into = &head_.timeout;
        else if (iequals(n, "x-api-key")) into = &head_.x_api_key;
        else if (iequals(n, "anthropic-version")) into = &head_.anthropic_version;
        else if (iequals(n, "anthropic-beta")) into = &head_.anthropic_beta;
      }
    }
    if (into && into->empty()) into->assign(value.data(), value.size());  // the first one counts
  }
  void on_header_impl(error_code&) override {}

  // Beast already refuses some combinations (chunked followed by Content-Length, a second
  // chunked); this refuses the rest, whatever the order of the fields.
  void check_framing(bool transfer_encoding, string_view value, error_code& ec) {
    if (transfer_encoding) {
      std::string_view coding(value.data(), value.size());
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
      if (http10_) ec = FramingError::transfer_encoding_in_http10;
      else if (saw_transfer_encoding_ || !iequals(coding, "chunked")) ec = FramingError::transfer_encoding_not_chunked;
      saw_transfer_encoding_ = true;
    } else {
      saw_content_length_ = true;
    }
    if (!ec && saw_transfer_encoding_ && saw_content_length_) ec = FramingError::transfer_encoding_with_content_length;
  }

  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    // The limit has been checked against Content-Length already; cap the guess anyway.
    if (length) head_.body.reserve(static_cast<size_t>(std::min<std::uint64_t>(*length, 1 << 20)));
  }
  std::size_t on_body_impl(string_view body, error_code&) override {
    head_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
    head_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  RequestHead& head_;
  bool http10_ = false;
  bool saw_transfer_encoding_ = false;
  bool saw_content_length_ = false;
};

// What the upstream engine reads from a response head; the body goes to `on_body` as parsed
// (de-chunked), never stored.
struct ResponseHead {
  int status = 0;
  std::string content_type;
  std::string retry_after;
  std::string error_type;  // x-amzn-ErrorType: the exception AWS services name there

  void clear() {
    status = 0;
    content_type.clear();
    retry_after.clear();
    error_type.clear();
  }
};

class ResponseParser final : public HeadLimitedParser<false> {
 public:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;
  // Receives body bytes; the pointer stays valid only during the call.
  using BodySink = void (*)(void* context, std::string_view bytes);

  ResponseParser(ResponseHead& head, BodySink sink, void* context) : head_(head), sink_(sink), context_(context) {}

 private:
  void on_request_impl(boost::beast::http::verb, string_view, string_view, int, error_code&) override {}
  void on_response_impl(int code, string_view, int, error_code&) override { head_.status = code; }
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value, error_code&) override {
    if (name == boost::beast::http::field::content_type && head_.content_type.empty())
      head_.content_type.assign(value.data(), value.size());
    else if (name == boost::beast::http::field::retry_after && head_.retry_after.empty())
      head_.retry_after.assign(value.data(), value.size());
    else if (name == boost::beast::http::field::unknown && head_.error_type.empty() &&
             iequals(std::string_view(name_string.data(), name_string.size()), kErrorTypeHeader))
      head_.error_type.assign(value.data(), value.size());
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code&) override {
    sink_(context_, std::string_view(body.data(), body.size()));
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
    sink_(context_, std::string_view(body.data(), body.size()));
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  ResponseHead& head_;
  BodySink sink_;
  void* context_;
};

}  // namespace llmux::http
