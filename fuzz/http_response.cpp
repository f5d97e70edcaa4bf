// The upstream response reader (http::ResponseParser): bytes from an upstream connection read
// the way the cleartext engine (http1_engine.cpp) reads them, interim 1xx heads skipped and the
// connection's end delivered as EOF. Property: what the handler sees does not depend on how the
// bytes were split across reads.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <tuple>

#include "fuzz_support.hpp"
#include "http/message_parsers.hpp"

namespace {

using llmux::http::ResponseHead;
using llmux::http::ResponseParser;
namespace bhttp = boost::beast::http;

constexpr size_t kHeaderLimit = 1024;  // the engine's 64 KiB, small enough for fuzzer-sized heads

struct Outcome {
  int status = 0;               // of the head handed on, interim ones skipped
  std::string content_type;
  std::string retry_after;
  std::string body;             // as the sink received it, de-chunked
  bool headers_done = false;
  bool complete = false;
  bool reusable = false;        // the response leaves the connection fit for the next one
  boost::beast::error_code error;

  auto tie() const {
    return std::tie(status, content_type, retry_after, body, headers_done, complete, reusable, error);
  }
  // A head that never completed fails either way; which error depends on the reads (see
  // http_request.cpp: Beast refuses a malformed head at once on its first read, else only once
  // the head is complete, and here the connection ends first).
  bool operator==(const Outcome& other) const {
    if (!headers_done && !other.headers_done && error && other.error) return true;
    return tie() == other.tie();
  }
};

class Transfer {
 public:
  Transfer() { expect_head(); }

  void feed(std::string_view piece) {
    if (finished_) return;
    buffer_.append(piece);
    while (!buffer_.empty() && !parser_->is_done() && !finished_) {
      boost::beast::error_code ec;
      size_t used = parser_->put(boost::asio::buffer(buffer_), ec);
      LLMUX_FUZZ_CHECK(used <= buffer_.size());
      buffer_.erase(0, used);
      if (ec == bhttp::error::need_more) break;
      if (ec) return fail(ec);
      if (parser_->is_header_done() && !outcome_.headers_done) {
        int status = head_.status;
        if (status >= 100 && status < 200 && status != 101) {
          expect_head();
          continue;
        }
        outcome_.headers_done = true;
        outcome_.status = status;
        outcome_.content_type = head_.content_type;
        outcome_.retry_after = head_.retry_after;
        parser_->eager(true);
      }
      if (used == 0) break;
    }
    if (parser_->is_done()) complete();
  }

  // The upstream closed the connection: the end of a body delimited by it.
  Outcome end() {
    if (!finished_) {
      if (outcome_.headers_done) {
        boost::beast::error_code ec;
        parser_->put_eof(ec);
        if (!ec && parser_->is_done()) complete();
        else fail(ec ? ec : bhttp::error::partial_message);
      } else {
        fail(bhttp::error::partial_message);
      }
    }
    return outcome_;
  }

 private:
  void expect_head() {
    head_.clear();
    parser_.emplace(head_, &Transfer::deliver, this);
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(boost::none);
  }

  static void deliver(void* context, std::string_view bytes) {
    auto* self = static_cast<Transfer*>(context);
    LLMUX_FUZZ_CHECK(self->outcome_.headers_done);  // no body byte before the handler saw the status
    self->outcome_.body.append(bytes);
  }

  void complete() {
    if (finished_) return;
    finished_ = true;
    outcome_.complete = true;
    // The engine also wants no bytes left over, which depends on when they arrived: not compared.
    outcome_.reusable = head_.status >= 200 && parser_->keep_alive() && !parser_->need_eof();
  }
  void fail(boost::beast::error_code ec) {
    finished_ = true;
    outcome_.error = ec;
  }

  ResponseHead head_;
  std::optional<ResponseParser> parser_;
  std::string buffer_;
  Outcome outcome_;
  bool finished_ = false;
};

void print(const char* label, const Outcome& o) {
  std::fprintf(stderr, "%s: status=%d headers_done=%d complete=%d reusable=%d error='%s' body=%zu bytes\n", label,
               o.status, o.headers_done, o.complete, o.reusable, o.error.message().c_str(), o.body.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = llmux::fuzz::as_text(data, size);

  Transfer whole;
  whole.feed(input);
  Outcome at_once = whole.end();

  Transfer split;
  for (std::string_view piece : llmux::fuzz::split_pieces(input)) split.feed(piece);
  Outcome in_pieces = split.end();

  if (!(at_once == in_pieces)) {
    print("read at once", at_once);
    print("read in pieces", in_pieces);
    LLMUX_FUZZ_CHECK(at_once == in_pieces);
  }
  return 0;
}
