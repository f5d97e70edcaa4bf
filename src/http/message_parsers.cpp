#include "http/message_parsers.hpp"

namespace llmux::http {

namespace {

class FramingCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "llmux.http.framing"; }
  std::string message(int value) const override {
    switch (static_cast<FramingError>(value)) {
      case FramingError::transfer_encoding_not_chunked:
        return "Transfer-Encoding must be exactly \"chunked\" (sent once)";
      case FramingError::transfer_encoding_with_content_length:
        return "Transfer-Encoding and Content-Length must not both be sent";
      case FramingError::transfer_encoding_in_http10:
        return "Transfer-Encoding is not allowed in HTTP/1.0";
    }
    return "bad message framing";
  }
};

}  // namespace

const boost::system::error_category& framing_category() noexcept {
  static const FramingCategory category;
  return category;
}

}  // namespace llmux::http
