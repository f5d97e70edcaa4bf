// A client trying to smuggle requests or fields past the gateway: odd framing, chunked trailers,
// repeated JSON keys, deep JSON. Each case goes through the real binary over a raw socket (or
// libcurl where a normal client can send it).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"
#include "raw_http.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

const std::string kBody = R"({"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}]})";

std::string config_for(const FakeProvider& fake, const std::string& top = "") {
  return top + "providers:\n  fake:\n    base_url: " + fake.base_url() + "\n    models: [fake-model]\n";
}

size_t responses_in(const std::string& bytes) {
  size_t n = 0;
  for (size_t at = bytes.find("HTTP/1.1 "); at != std::string::npos; at = bytes.find("HTTP/1.1 ", at + 1)) ++n;
  return n;
}

size_t fake_request_count(const FakeProvider& fake) {
  return json::parse(http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests").body).as_array().size();
}

std::string chunked(const std::string& body) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  return std::string(size) + "\r\n" + body + "\r\n0\r\n";
}

class HostileClient : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(start_fake());
    gateway_ = new Gateway(start_gateway(config_for(*fake_)));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }
  // Sends `request` on a fresh connection and reads until the gateway closes it.
  static std::string exchange(const std::string& request) {
    RawConnection c(gateway_->port);
    EXPECT_TRUE(c.connected());
    c.send(request);
    EXPECT_TRUE(c.read_until_closed()) << "the connection stayed open:\n" << c.received();
    return c.received();
  }
  static FakeProvider* fake_;
  static Gateway* gateway_;
};
FakeProvider* HostileClient::fake_ = nullptr;
Gateway* HostileClient::gateway_ = nullptr;

// Read as a zero-length body, the real body ran as a second request: a smuggled GET /v1/models
// was answered. Now the framing itself is a 400 and the connection closes.
TEST_F(HostileClient, TransferEncodingOtherThanChunkedIs400AndClose) {
  const std::string smuggled = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::string te : {"xchunked", "chunked, identity", "identity", "\"chunked\"", "gzip, chunked"}) {
    std::string reply = exchange("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                 "Transfer-Encoding: " + te + "\r\n\r\n" + smuggled);
    EXPECT_EQ(reply.rfind("HTTP/1.1 400 ", 0), 0u) << te << "\n" << reply;
    EXPECT_EQ(responses_in(reply), 1u) << te << "\n" << reply;
    EXPECT_EQ(reply.find("\"object\":\"list\""), std::string::npos) << te;
    EXPECT_NE(reply.find("Transfer-Encoding must be exactly"), std::string::npos) << te << "\n" << reply;
    EXPECT_NE(reply.find("Connection: close"), std::string::npos) << te;
  }
}

TEST_F(HostileClient, TransferEncodingWithContentLengthIs400WhateverTheOrder) {
  const std::string body = chunked(kBody) + "\r\n";
  const std::string length = "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (std::string te : {"Transfer-Encoding: chunked\r\n", "Transfer-Encoding: identity\r\n"}) {
    for (std::string fields : {te + length, length + te}) {
      std::string reply = exchange("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                                   fields + "\r\n" + body);
      EXPECT_EQ(reply.rfind("HTTP/1.1 400 ", 0), 0u) << fields << "\n" << reply;
      EXPECT_EQ(responses_in(reply), 1u) << fields;
      EXPECT_NE(reply.find("malformed HTTP request"), std::string::npos) << fields << "\n" << reply;
    }
  }
}

TEST_F(HostileClient, TransferEncodingInHttp10Is400) {
  std::string reply = exchange("POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n" + chunked(kBody) + "\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 ", 0), 0u) << reply;
  EXPECT_NE(reply.find("not allowed in HTTP/1.0"), std::string::npos) << reply;
}

// The accepted form still works, with a trailer that is simply dropped.
TEST_F(HostileClient, PlainChunkedBodyIsServed) {
  RawConnection c(gateway_->port);
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
         "Transfer-Encoding: chunked\r\n\r\n" + chunked(kBody) + "X-Trailer: 1\r\n\r\n");
  ASSERT_TRUE(c.read_until_closed());
  EXPECT_EQ(c.received().rfind("HTTP/1.1 200 ", 0), 0u) << c.received();
}

// A trailer carrying the gateway key authenticated the request; one carrying x-llmux-provider
// routed it. Trailer fields are not headers.
TEST(HostileClientTrailers, TrailerFieldsNeitherAuthenticateNorRoute) {
  auto fake = start_fake();
  auto keyed = start_gateway(config_for(fake, "master_key: mk-trailer-key-0001\n"));
  {
    RawConnection c(keyed.port);
    c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
           "Transfer-Encoding: chunked\r\n\r\n" + chunked(kBody) + "Authorization: Bearer mk-trailer-key-0001\r\n\r\n");
    ASSERT_TRUE(c.read_until_closed());
    EXPECT_EQ(c.received().rfind("HTTP/1.1 401 ", 0), 0u) << c.received();
  }
  auto open = start_gateway(config_for(fake));
  RawConnection c(open.port);
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
         "Transfer-Encoding: chunked\r\n\r\n" + chunked(R"({"messages":[{"role":"user","content":"hi"}]})") +
         "x-llmux-provider: fake\r\n\r\n");
  ASSERT_TRUE(c.read_until_closed());
  EXPECT_NE(c.received().rfind("HTTP/1.1 200 ", 0), 0u) << c.received();
  EXPECT_EQ(fake_request_count(fake), 0u);
}

// {"mod\u0065l":"gpt-4-SMUGGLED","model":"allowed/cheap"} was routed by the second key and
// forwarded with both.
TEST_F(HostileClient, RepeatedTopLevelKeyIs400NamingItAndNothingIsForwarded) {
  size_t before = fake_request_count(*fake_);
  auto r = http_post(gateway_->url("/v1/chat/completions"),
                     R"({"mod\u0065l":"gpt-4-SMUGGLED","model":"fake/fake-model","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 400) << r.body;
  auto error = json::parse(r.body).at("error");
  EXPECT_EQ(error.at("param").as_string(), "model");
  EXPECT_EQ(error.at("code").as_string(), "duplicate_key");
  auto twice = http_post(gateway_->url("/v1/chat/completions"),
                         R"({"model":"fake/fake-model","stream":false,"stream":true,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(twice.status, 400);
  EXPECT_EQ(json::parse(twice.body).at("error").at("param").as_string(), "stream");
  EXPECT_EQ(fake_request_count(*fake_), before);
}

// The message pointed at column 33 (Boost.JSON's default depth) for a body nested past
// simdjson's 1024 levels; it names the limit and the column where it is passed.
TEST_F(HostileClient, DeepJsonErrorNamesTheColumnWhereTheLimitIsPassed) {
  std::string deep = "{\"model\":\"fake/fake-model\",\"x\":" + std::string(3000, '[') + std::string(3000, ']') + "}";
  auto r = http_post(gateway_->url("/v1/chat/completions"), deep);
  EXPECT_EQ(r.status, 400);
  // 31 bytes before the first '[', which is level 2: level 1025 opens at byte 31 + 1023.
  EXPECT_NE(r.body.find("deeper than 1024 levels (line 1, column 1055)"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace llmux::test
