// An upstream that answers with what no provider should: odd status lines, redirects, huge
// bodies, credentials echoed in errors, deep JSON; and a client slow enough that llmux must hold
// its upstream back. Each runs through the real binary, on both upstream engines where both apply
// (Beast for http:// by default, curl with LLMUX_UPSTREAM_ENGINE=curl).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <thread>

#include "harness.hpp"
#include "raw_http.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

std::string fake_url(const FakeProvider& fake, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(fake.port) + path;
}

std::string chat_body(const std::string& fake_knobs, bool stream = false, const std::string& model = "fake/fake-model") {
  return R"({"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
         R"(,"messages":[{"role":"user","content":"hi"}],"fake":)" + fake_knobs + "}";
}

std::string error_message(const HttpResponse& r) {
  auto v = json::parse(r.body, json::storage_ptr(), {.max_depth = 64});
  return std::string(v.at("error").at("message").as_string());
}

class HostileUpstream : public ::testing::TestWithParam<const char*> {
 protected:
  bool curl() const { return std::string(GetParam()) == "curl"; }
  std::vector<std::string> engine_env() const {
    return curl() ? std::vector<std::string>{"LLMUX_UPSTREAM_ENGINE=curl"} : std::vector<std::string>{};
  }
  Gateway gateway_for(const FakeProvider& fake, const std::string& server = "", const std::string& extra = "") {
    // Breakers stay closed: these tests send one bad answer after another on purpose.
    return start_gateway((server.empty() ? "" : "server:\n" + server) +
                             "router:\n  breaker: {consecutive_failures: 1000}\nproviders:\n  fake:\n    base_url: " +
                             fake.base_url() + "\n    models: [fake-model]\n    max_retries: 0\n" + extra,
                         engine_env());
  }
};

INSTANTIATE_TEST_SUITE_P(Engines, HostileUpstream, ::testing::Values("beast", "curl"),
                         [](const auto& info) { return std::string(info.param); });

// 1xx other than the interim ones, 3xx (a 302 with Location included) and codes past 599 were
// passed to the client. They are a 502 naming the provider; a redirect is never followed.
TEST_P(HostileUpstream, StatusOutside2xx4xx5xxIs502AndRedirectsAreNotFollowed) {
  auto fake = start_fake();
  auto gw = gateway_for(fake);
  const std::string location = "Location: " + fake_url(fake, "/v1/redirected");
  for (std::string line : {"101 Switching Protocols", "302 Found", "304 Not Modified", "307 Temporary Redirect",
                           "600 Odd", "999 Odd"}) {
    auto r = http_post(gw.url("/v1/chat/completions"),
                       chat_body(R"({"status_line":")" + line + R"(","header":")" + location + R"("})"));
    EXPECT_EQ(r.status, 502) << line << ": " << r.body;
    if (r.status != 502) continue;
    std::string message = error_message(r);
    EXPECT_NE(message.find("provider 'fake'"), std::string::npos) << message;
    EXPECT_NE(message.find("status " + line.substr(0, 3)), std::string::npos) << message;
  }
  auto requests = json::parse(http_get(fake_url(fake, "/_fake/requests")).body).as_array();
  EXPECT_EQ(requests.size(), 6u);
  for (const auto& request : requests) EXPECT_NE(request.at("target").as_string(), "/v1/redirected");
}

// A 300 MiB upstream body drove the gateway's RSS past 600 MB. A buffered body over
// server.max_response_size is a 502 naming the provider and the limit, with or without
// Content-Length; a stream is not capped.
TEST_P(HostileUpstream, BufferedBodyOverMaxResponseSizeIs502NamingTheLimit) {
  auto fake = start_fake();
  auto gw = gateway_for(fake, "  max_response_size: 1MiB\n");
  for (bool chunked : {false, true}) {
    auto r = http_post(gw.url("/v1/chat/completions"),
                       chat_body(R"({"content_size":2000000,"chunked":)" + std::string(chunked ? "true" : "false") + "}"));
    EXPECT_EQ(r.status, 502) << r.body.substr(0, 300);
    if (r.status != 502) continue;
    std::string message = error_message(r);
    EXPECT_NE(message.find("provider 'fake'"), std::string::npos) << message;
    EXPECT_NE(message.find("1048576 bytes"), std::string::npos) << message;
    EXPECT_NE(message.find("server.max_response_size"), std::string::npos) << message;
  }
  auto within = http_post(gw.url("/v1/chat/completions"), chat_body(R"({"content_size":500000,"chunked":true})"));
  EXPECT_EQ(within.status, 200);
  auto stream = http_post(gw.url("/v1/chat/completions"), chat_body(R"({"content_size":2000000})", true));
  EXPECT_EQ(stream.status, 200);
  auto events = sse_data(stream.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
}

// A client that paused reading got "provider … stopped sending": llmux had paused the upstream
// for back-pressure and its own inactivity timer fired. Paused, the timer does not run.
TEST_P(HostileUpstream, ClientPausingLongerThanTheProviderTimeoutGetsTheWholeStream) {
  auto fake = start_fake();
  // 1 s: long enough for a loaded (or sanitized) fake to start the stream, short against the pause.
  auto gw = gateway_for(fake, "", "    timeout: 1s\n");
  // 10 MB: far more than the gateway queues (256 KiB) plus what the socket buffers hold.
  const std::string body = chat_body(R"({"content_size":10000000,"chunks":4000})", true);
  RawConnection client(gw.port, 4096);
  ASSERT_TRUE(client.connected());
  client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  client.read_until([](const std::string& got) { return got.find("\r\n\r\n") != std::string::npos; });
  ASSERT_EQ(client.received().rfind("HTTP/1.1 200 ", 0), 0u) << client.received();
  // The behaviour under test: a client that does not read for three provider timeouts.
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  ASSERT_TRUE(client.read_until_closed(std::chrono::seconds(60)));
  const std::string& got = client.received();
  EXPECT_NE(got.find("data: [DONE]"), std::string::npos) << got.substr(got.size() > 600 ? got.size() - 600 : 0);
  EXPECT_EQ(got.find("stopped sending"), std::string::npos);
  EXPECT_EQ(got.find("\"error\""), std::string::npos);
  EXPECT_GT(got.size(), 10000000u);
}

// An upstream quoting the credential it refused had the key copied into the client's error. The
// knob goes in a provider header: the Anthropic adapter does not forward unknown body fields.
TEST_P(HostileUpstream, UpstreamErrorTextNeverCarriesTheProvidersCredentials) {
  auto fake = start_fake();
  const std::string key = "sk-live-SECRET-0123456789abcdef";
  const std::map<std::string, std::string> styles = {
      {"bearer", ""}, {"header", "    auth_header: X-API-Key\n"}, {"claude", "    type: anthropic\n"}};
  const std::vector<std::string> shapes = {"json", "detail", "text"};
  std::string config = "providers:\n";
  for (const auto& [style, settings] : styles)
    for (const auto& shape : shapes)
      config += "  " + style + "-" + shape + ":\n    base_url: " + fake.base_url() +
                "\n    models: [fake-model]\n    max_retries: 0\n    api_key: " + key + "\n" + settings +
                "    headers:\n      x-fake-echo-auth: " + shape + "\n";
  auto gw = start_gateway(config, engine_env());
  for (const auto& [style, settings] : styles) {
    for (const auto& shape : shapes) {
      std::string provider = style + "-" + shape;
      auto r = http_post(gw.url("/v1/chat/completions"),
                         R"({"model":")" + provider + R"(/fake-model","messages":[{"role":"user","content":"hi"}]})");
      EXPECT_GE(r.status, 400) << provider;
      EXPECT_EQ(r.body.find("SECRET"), std::string::npos) << provider << ": " << r.body;
      EXPECT_NE(r.body.find("[redacted]"), std::string::npos) << provider << ": " << r.body;
      EXPECT_NE(r.body.find("provider '" + provider + "'"), std::string::npos) << r.body;
    }
  }
  // The fake did see the key, so the echo was real.
  EXPECT_NE(http_get(fake_url(fake, "/_fake/requests")).body.find(key), std::string::npos);
}

// Valid JSON nested deeper than Boost.JSON's default 32 levels was called malformed (502) when it
// carried no usage (only then is the body validated).
TEST_P(HostileUpstream, DeeplyNestedValidResponseIsPassedOn) {
  auto fake = start_fake();
  auto gw = gateway_for(fake);
  auto r = http_post(gw.url("/v1/chat/completions"), chat_body(R"({"nesting":200,"usage":false})"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(std::string(200, '[')), std::string::npos);
}

int open_fake_connections(const FakeProvider& fake) {
  return static_cast<int>(json::parse(http_get(fake_url(fake, "/_fake/connections")).body).at("open").as_int64());
}

// 500 idle upstream sockets stayed open after a load test: pooled connections had no timer.
TEST(HostileUpstreamPool, IdlePooledConnectionIsClosedAfterUpstreamIdleTimeout) {
  auto fake = start_fake();
  auto gw = start_gateway("server:\n  upstream_idle_timeout: 1s\nproviders:\n  fake:\n    base_url: " +
                          fake.base_url() + "\n    models: [fake-model]\n");
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(http_post(gw.url("/v1/chat/completions"), chat_body("{}")).status, 200);
  // The pooled connection and this query's own.
  EXPECT_GE(open_fake_connections(fake), 2);
  // Each poll is a round trip to the fake; the deadline is far past the idle timeout.
  auto until = start + std::chrono::seconds(5);
  while (open_fake_connections(fake) > 1 && std::chrono::steady_clock::now() < until) {
  }
  auto closed_after = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(open_fake_connections(fake), 1);
  EXPECT_GE(closed_after, std::chrono::milliseconds(900));
  EXPECT_LT(closed_after, std::chrono::seconds(5));
  // A later request gets a fresh connection and succeeds.
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat_body("{}")).status, 200);
}

}  // namespace
}  // namespace llmux::test
