// What fuzzing the readers found, through the real binary: a deep upstream body that took a
// recursive JSON check down, and request heads over the 64 KiB limit that were not refused.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/json.hpp>

#include "harness.hpp"
#include "raw_http.hpp"

namespace llmux::test {
namespace {

const std::string kChat = R"({"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}]})";

class FuzzFindings : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(start_fake());
    gateway_ = new Gateway(start_gateway("providers:\n  fake:\n    base_url: " + fake_->base_url() +
                                         "\n    models: [fake-model]\n    max_retries: 0\n"));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }
  static FakeProvider* fake_;
  static Gateway* gateway_;
};
FakeProvider* FuzzFindings::fake_ = nullptr;
Gateway* FuzzFindings::gateway_ = nullptr;

// A body without usage is checked to be JSON before it is passed on. The check recursed once per
// level and ran out of stack a million levels down: the gateway crashed. It is valid JSON, so it
// is passed on, and the gateway keeps serving.
TEST_F(FuzzFindings, UpstreamBodyAMillionLevelsDeepIsPassedOn) {
  auto r = http_post(gateway_->url("/v1/chat/completions"),
                     R"({"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}],)"
                     R"("fake":{"nesting":1000000,"usage":false}})");
  ASSERT_EQ(r.status, 200) << r.error << r.body.substr(0, 300);
  EXPECT_NE(r.body.find(std::string(1'000'000, '[') + std::string(1'000'000, ']')), std::string::npos);
  EXPECT_EQ(http_post(gateway_->url("/v1/chat/completions"), kChat).status, 200);
}

// A 70 KB request head of 100-byte fields after 99 bytes of request line and fields, then a body:
// written in 100-byte pieces, each piece ends one byte into a field. Beast then parses every field
// before it (it has seen that no folded line follows) and has too little left over to wait for
// the end of the head instead, so its own limit, applied to what one read leaves unparsed, never
// saw more than a few bytes.
std::string request_with_head_of(size_t head_bytes) {
  std::string head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  head += "X-Pad: " + std::string(99 - head.size() - 9, 'p') + "\r\n";
  std::string content_length = "Content-Length: " + std::to_string(kChat.size()) + "\r\n\r\n";
  for (int n = 0; head.size() + 100 + content_length.size() <= head_bytes; ++n) {
    std::string name = "X-Filler-" + std::to_string(n) + ": ";
    head += name + std::string(100 - name.size() - 2, 'a') + "\r\n";
  }
  return head + content_length + kChat;
}

// Each write is 100 bytes (TCP_NODELAY: sent as written), so every read the gateway makes ends one
// byte into a field, whatever writes it gets at once. A write may fail once the gateway has
// answered; the answer is read all the same.
RawResponse send_in_pieces(int port, const std::string& request, size_t piece) {
  RawConnection c(port);
  EXPECT_TRUE(c.connected());
  int on = 1;
  EXPECT_EQ(::setsockopt(c.fd(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on), 0);
  for (size_t at = 0; at < request.size(); at += piece)
    if (!c.send(request.substr(at, piece))) break;
  return c.read_response();
}

void expect_431(const RawResponse& r) {
  ASSERT_TRUE(r.complete) << r.head;
  EXPECT_EQ(r.status, 431) << r.head << r.body;
  EXPECT_EQ(r.header("connection"), "close");
  auto error = boost::json::parse(r.body).as_object().at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), "request_header_too_large");
  EXPECT_EQ(error.at("type").as_string(), "invalid_request_error");
}

TEST_F(FuzzFindings, HeadOver64KiBIs431WholeAndIn100BytePieces) {
  std::string request = request_with_head_of(70'000);
  expect_431(send_in_pieces(gateway_->port, request, request.size()));
  expect_431(send_in_pieces(gateway_->port, request, 100));
}

TEST_F(FuzzFindings, HeadUnder64KiBInPiecesIsServed) {
  RawResponse r = send_in_pieces(gateway_->port, request_with_head_of(60'000), 100);
  ASSERT_TRUE(r.complete) << r.head;
  EXPECT_EQ(r.status, 200) << r.head << r.body;
}

}  // namespace
}  // namespace llmux::test
