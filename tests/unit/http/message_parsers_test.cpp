#include "http/message_parsers.hpp"

#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

namespace llmux::http {
namespace {

namespace bhttp = boost::beast::http;

// Feeds `text` in two pieces split at `split`, the way a connection's read loop does: unparsed
// bytes stay in front of the next read, the head is parsed alone and then the body eagerly.
std::string ec_message(FramingError e) { return make_error_code(e).message(); }

template <typename Parser>
boost::beast::error_code feed(Parser& parser, std::string_view text, size_t split) {
  std::string buffer;
  size_t offered = 0;
  boost::beast::error_code ec;
  for (size_t end : {split, text.size()}) {
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

}  // namespace
}  // namespace llmux::http
