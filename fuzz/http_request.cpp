// The client request reader (http::RequestParser): bytes from a client connection, pipelined
// requests included, read the way the server's connection loop reads them. Property: the
// requests read do not depend on how the bytes were split across reads.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <tuple>

#include "fuzz_support.hpp"
#include "http/message_parsers.hpp"

namespace {

using llmux::http::RequestHead;
using llmux::http::RequestParser;
namespace bhttp = boost::beast::http;

// The server's 64 KiB head limit and 10 MiB body limit, made small enough for fuzzer-sized inputs
// to reach them. The head limit holds for the whole head, however the reads split it (Beast's own
// counted only what one read left unparsed), so the result must not depend on the reads.
constexpr size_t kHeaderLimit = 1024;
constexpr uint64_t kBodyLimit = 2048;

// One request as the gateway sees it, or how reading stopped.
struct Outcome {
  bool complete = false;
  bool keep_alive = false;
  boost::beast::error_code error;  // empty when complete, or when the input ended mid-request
  RequestHead head;

  auto tie() const {
    return std::tie(complete, keep_alive, error, head.method, head.target, head.content_type,
                    head.authorization, head.expect, head.request_id, head.provider, head.body);
  }
};

// The same requests, complete and alike, in the same order. A request that never completes may
// end as an error in one reading and as "waiting for more" in the other: Beast parses a head as it
// goes only on its first read; after a need_more it waits for the blank line before looking
// again, so a malformed head without one is refused at once or only once the head is complete.
bool same_requests(const std::vector<Outcome>& a, const std::vector<Outcome>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    bool last = i + 1 == a.size();
    if (last && !a[i].complete && !b[i].complete) return true;
    if (a[i].tie() != b[i].tie()) return false;
  }
  return true;
}

// The server's loop (Connection::parse_request): unparsed bytes stay in front of the next read,
// the head is parsed alone (eager off) and then the body eagerly, and the bytes after a complete
// request start the next one unless the connection is closing.
class Connection {
 public:
  void feed(std::string_view piece) {
    if (closed_) return;
    buffer_.append(piece);
    while (!buffer_.empty() && !closed_) {
      if (!parser_) start_request();
      boost::beast::error_code ec;
      size_t used = parser_->put(boost::asio::buffer(buffer_), ec);
      LLMUX_FUZZ_CHECK(used <= buffer_.size());
      buffer_.erase(0, used);
      if (ec == bhttp::error::need_more) break;
      if (ec) {
        current().error = ec;
        closed_ = true;
        break;
      }
      if (parser_->is_header_done() && !parser_->eager()) parser_->eager(true);
      if (parser_->is_done()) {
        LLMUX_FUZZ_CHECK(current().head.body.size() <= kBodyLimit);
        current().complete = true;
        current().keep_alive = parser_->keep_alive();
        closed_ = !parser_->keep_alive();
        parser_.reset();
        continue;
      }
      if (used == 0) break;
    }
  }

  const std::vector<Outcome>& outcomes() const { return outcomes_; }

 private:
  void start_request() {
    outcomes_.emplace_back();
    parser_.emplace(current().head);
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(kBodyLimit);
  }
  Outcome& current() { return outcomes_.back(); }

  std::string buffer_;
  std::optional<RequestParser> parser_;
  std::vector<Outcome> outcomes_;
  bool closed_ = false;
};

void print(const char* label, const std::vector<Outcome>& outcomes) {
  std::fprintf(stderr, "%s: %zu request(s)\n", label, outcomes.size());
  for (const Outcome& o : outcomes)
    std::fprintf(stderr, "  complete=%d keep_alive=%d error='%s' method=%d target='%s' body=%zu bytes\n", o.complete,
                 o.keep_alive, o.error.message().c_str(), static_cast<int>(o.head.method), o.head.target.c_str(),
                 o.head.body.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = llmux::fuzz::as_text(data, size);

  Connection whole;
  whole.feed(input);

  Connection split;
  for (std::string_view piece : llmux::fuzz::split_pieces(input)) split.feed(piece);

  if (!same_requests(whole.outcomes(), split.outcomes())) {
    print("read at once", whole.outcomes());
    print("read in pieces", split.outcomes());
    LLMUX_FUZZ_CHECK(same_requests(whole.outcomes(), split.outcomes()));
  }
  return 0;
}
