#include "http/message_parsers.hpp"

#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

namespace llmux::http {
namespace {

namespace bhttp = boost::beast::http;

// Feeds `text` in two pieces split at `split`, the way a connection's read loop does: unparsed
// bytes stay in front of the next read, the head is parsed alone and then the body eagerly.
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

}  // namespace
}  // namespace llmux::http
