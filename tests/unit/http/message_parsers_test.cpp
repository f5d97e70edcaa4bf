#include "http/message_parsers.hpp"

#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

#include <vector>

namespace llmux::http {
namespace {

namespace bhttp = boost::beast::http;

// Feeds `text` in two pieces split at `split`, the way a connection's read loop does: unparsed
// bytes stay in front of the next read, the head is parsed alone and then the body eagerly.
std::string ec_message(FramingError e) { return make_error_code(e).message(); }

// The same, with pieces ending at each of `ends` (the last one the text's end).
template <typename Parser>
boost::beast::error_code feed_until(Parser& parser, std::string_view text, const std::vector<size_t>& ends) {
  std::string buffer;
  size_t offered = 0;
  boost::beast::error_code ec;
  for (size_t end : ends) {
    buffer.append(text.substr(offered, end - offered));
    offered = end;
    while (!buffer.empty() && !parser.is_done()) {
      size_t used = parser.put(boost::asio::buffer(buffer), ec);
      buffer.erase(0, used);
      if (ec == bhttp::error::need_more) {
        ec = {};
        break;
      }
      if (ec) return ec;
      if (parser.is_header_done()) parser.eager(true);
      if (used == 0) break;
    }
  }
  return ec;
}

template <typename Parser>
boost::beast::error_code feed(Parser& parser, std::string_view text, size_t split) {
  return feed_until(parser, text, {split, text.size()});
}

template <typename Parser>
boost::beast::error_code feed_in_pieces(Parser& parser, std::string_view text, size_t piece) {
  std::vector<size_t> ends;
  for (size_t end = piece; end < text.size(); end += piece) ends.push_back(end);
  ends.push_back(text.size());
  return feed_until(parser, text, ends);
}

TEST(MessageParsers, RequestKeepsTheHeadersTheGatewayReadsAtEverySplit) {
  const std::string request =
      "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
      "AUTHORIZATION: Bearer k1\r\nX-Request-Id: abc\r\nx-request-id: second\r\nX-LLMUX-Provider: fake\r\n"
      "Expect: 100-continue\r\nContent-Length: 13\r\n\r\n{\"model\":\"m\"}";
  for (size_t split = 0; split <= request.size(); ++split) {
    RequestHead head;
    head.body = "left over";
    head.clear();
    RequestParser parser(head);
    ASSERT_FALSE(feed(parser, request, split)) << split;
    ASSERT_TRUE(parser.is_done()) << split;
    EXPECT_EQ(head.method, bhttp::verb::post);
    EXPECT_EQ(head.target, "/v1/chat/completions?x=1");
    EXPECT_EQ(head.content_type, "application/json");
    EXPECT_EQ(head.authorization, "Bearer k1");
    EXPECT_EQ(head.request_id, "abc");  // the first of repeated headers counts
    EXPECT_EQ(head.provider, "fake");
    EXPECT_EQ(head.expect, "100-continue");
    EXPECT_EQ(head.body, "{\"model\":\"m\"}");
    EXPECT_TRUE(parser.keep_alive());
  }
}

TEST(MessageParsers, ChunkedRequestBodyIsJoinedAndLimitsApply) {
  RequestHead head;
  RequestParser parser(head);
  std::string chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                        "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  ASSERT_FALSE(feed(parser, chunked, 40));
  EXPECT_EQ(head.body, "abcde");
  EXPECT_FALSE(parser.keep_alive());

  RequestHead small;
  RequestParser limited(small);
  limited.body_limit(4);
  EXPECT_EQ(feed(limited, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 10), bhttp::error::body_limit);
}

TEST(MessageParsers, ResponseHandsBodyBytesToTheSinkAtEverySplit) {
  const std::string response =
      "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nRetry-After: 7\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n";
  for (size_t split = 0; split <= response.size(); ++split) {
    ResponseHead head;
    std::string body;
    ResponseParser parser(head, [](void* out, std::string_view bytes) { static_cast<std::string*>(out)->append(bytes); },
                          &body);
    ASSERT_FALSE(feed(parser, response, split)) << split;
    ASSERT_TRUE(parser.is_done()) << split;
    EXPECT_EQ(head.status, 429);
    EXPECT_EQ(head.content_type, "application/json");
    EXPECT_EQ(head.retry_after, "7");
    EXPECT_EQ(body, "{\"a\":1}");
  }
}

TEST(MessageParsers, MalformedHeadIsAnError) {
  RequestHead head;
  RequestParser parser(head);
  EXPECT_TRUE(feed(parser, "GET / HTTP/1.1\r\nBad Header\r\n\r\n", 5));
}

// RFC 9112 §6.1/§6.3: anything but a lone, final "chunked" coding, or a Transfer-Encoding next to a
// Content-Length (in either order), or one in HTTP/1.0, is refused instead of guessing a length.
TEST(MessageParsers, RequestFramingThatCouldBeReadTwoWaysIsAnError) {
  const std::string body = "5\r\nhello\r\n0\r\n\r\n";
  for (std::string te : {"xchunked", "chunked, identity", "identity", "\"chunked\"", "gzip, chunked", "gzip",
                         "chunked,chunked"}) {
    RequestHead head;
    RequestParser parser(head);
    auto ec = feed(parser, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + te + "\r\n\r\n" + body, 0);
    EXPECT_EQ(ec, FramingError::transfer_encoding_not_chunked) << te;
  }
  {
    RequestHead head;
    RequestParser parser(head);
    EXPECT_EQ(feed(parser, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + body, 0),
              bhttp::error::bad_transfer_encoding);
  }
  for (std::string fields : {"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                             "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                             "Content-Length: 5\r\nTransfer-Encoding: identity\r\n",
                             "Transfer-Encoding: identity\r\nContent-Length: 5\r\n"}) {
    RequestHead head;
    RequestParser parser(head);
    auto ec = feed(parser, "POST / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n" + body, 0);
    EXPECT_TRUE(ec) << fields;
    EXPECT_NE(ec, bhttp::error::need_more) << fields;
  }
  {
    RequestHead head;
    RequestParser parser(head);
    EXPECT_EQ(feed(parser, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + body, 0),
              FramingError::transfer_encoding_in_http10);
  }
  // The one accepted form, any case, with trailing whitespace.
  RequestHead head;
  RequestParser parser(head);
  EXPECT_FALSE(feed(parser, "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked \r\n\r\n" + body, 0));
  EXPECT_EQ(head.body, "hello");
  EXPECT_EQ(ec_message(FramingError::transfer_encoding_not_chunked).find("chunked") != std::string::npos, true);
}

TEST(MessageParsers, ChunkedTrailerFieldsAreNotHeaders) {
  const std::string request =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
      "Authorization: Bearer smuggled\r\nx-llmux-provider: other\r\nContent-Type: text/plain\r\n"
      "x-request-id: trailer\r\nExpect: 100-continue\r\n\r\n";
  for (size_t split = 0; split <= request.size(); ++split) {
    RequestHead head;
    RequestParser parser(head);
    ASSERT_FALSE(feed(parser, request, split)) << split;
    ASSERT_TRUE(parser.is_done()) << split;
    EXPECT_EQ(head.body, "hello");
    EXPECT_EQ(head.authorization, "");
    EXPECT_EQ(head.provider, "");
    EXPECT_EQ(head.content_type, "");
    EXPECT_EQ(head.request_id, "");
    EXPECT_EQ(head.expect, "");
  }
}

// `start_line` (with its CRLF), a field padding it to 99 bytes, then 100-byte fields up to a head
// of exactly `size` bytes (the last field takes what is left). With 100-byte pieces, every piece
// then ends one byte into a field: Beast parses the field before (it has seen that no folded line
// follows) and has too little left to wait for the end of the head instead.
std::string head_of_size(const std::string& start_line, size_t size) {
  auto field = [](const std::string& name, size_t length) {
    return name + ": " + std::string(length - name.size() - 4, 'a') + "\r\n";
  };
  std::string head = start_line + field("X-Pad", 99 - start_line.size());
  for (int n = 0; head.size() + 2 < size; ++n) {
    size_t left = size - 2 - head.size();
    head += field("X-Filler-" + std::to_string(n), left >= 200 ? 100 : left);
  }
  head += "\r\n";
  EXPECT_EQ(head.size(), size);
  return head;
}

// Beast consumes the complete fields of every put and applies header_limit only to the bytes it
// has not parsed yet, so a head sent in small pieces was never refused (found by fuzzing). The
// limit holds for the whole head, however it arrives: a 70 KB head is refused whole and in 100-byte
// pieces, and the head's exact size decides.
TEST(MessageParsers, HeaderLimitAppliesToTheWholeHeadInAnyPieces) {
  constexpr size_t kLimit = 64 * 1024;
  const std::string request_line = "GET /v1/models HTTP/1.1\r\n";
  const std::string status_line = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n";
  for (size_t piece : {size_t(0), size_t(100), size_t(1), size_t(4096)}) {
    for (size_t size : {size_t(70'001), kLimit + 1, kLimit, size_t(60'001)}) {
      bool refused = size > kLimit;
      std::string request = head_of_size(request_line, size);
      RequestHead head;
      RequestParser request_parser(head);
      request_parser.header_limit(kLimit);
      auto ec = piece ? feed_in_pieces(request_parser, request, piece) : feed(request_parser, request, 0);
      EXPECT_EQ(ec == bhttp::error::header_limit, refused) << size << " bytes in pieces of " << piece << ": " << ec.message();
      EXPECT_EQ(request_parser.is_done(), !refused) << size << " in pieces of " << piece;

      std::string response = head_of_size(status_line, size);
      ResponseHead response_head;
      ResponseParser response_parser(response_head, [](void*, std::string_view) {}, nullptr);
      response_parser.header_limit(kLimit);
      ec = piece ? feed_in_pieces(response_parser, response, piece) : feed(response_parser, response, 0);
      EXPECT_EQ(ec == bhttp::error::header_limit, refused) << size << " bytes in pieces of " << piece << ": " << ec.message();
      EXPECT_EQ(response_parser.is_done(), !refused) << size << " in pieces of " << piece;
      if (!refused) {
        EXPECT_EQ(response_head.status, 200);
      }
    }
  }
  // The body does not count: a small head with a body larger than the limit is read in pieces.
  std::string body(kLimit * 2, 'b');
  std::string request = "POST / HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  RequestHead head;
  RequestParser parser(head);
  parser.header_limit(kLimit);
  EXPECT_FALSE(feed_in_pieces(parser, request, 100));
  EXPECT_EQ(head.body, body);
}

}  // namespace
}  // namespace llmux::http
