// Gateway keys, auth styles, unreachable providers, retries and graceful shutdown: each test
// starts its own gateway with the config it needs.
#include <functional>
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <future>
#include <thread>

#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

const char* kChat = R"({"model":"fake-model","messages":[{"role":"user","content":"hi"}]})";

json::array fake_requests(const FakeProvider& fake) {
  return json::parse(http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests").body).as_array();
}

// Polls the fake provider's request log (each poll is a real round trip) until it holds `count`
// requests or the deadline passes.
bool wait_for_requests(const FakeProvider& fake, size_t count,
                       std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (fake_requests(fake).size() < count)
    if (std::chrono::steady_clock::now() > until) return false;
  return true;
}

std::string provider_block(const std::string& id, const std::string& base_url, const std::string& extra = "") {
  return "  " + id + ":\n    base_url: " + base_url + "\n    models: [fake-model]\n" + extra;
}

TEST(GatewayKeys, MissingOrWrongKeyIs401AndValidKeysPass) {
  auto fake = start_fake();
  auto gw = start_gateway("master_key: mk-master-0001\napi_keys: [ak-team-0002]\nproviders:\n" +
                          provider_block("fake", fake.base_url()));
  auto none = http_post(gw.url("/v1/chat/completions"), kChat);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(json::parse(none.body).at("error").at("code").as_string(), "missing_api_key");
  auto wrong = http_post(gw.url("/v1/chat/completions"), kChat,
                         {"Content-Type: application/json", "Authorization: Bearer nope"});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(http_get(gw.url("/v1/models")).status, 401);
  for (const char* key : {"mk-master-0001", "ak-team-0002"}) {
    auto ok = http_post(gw.url("/v1/chat/completions"), kChat,
                        {"Content-Type: application/json", std::string("Authorization: Bearer ") + key});
    EXPECT_EQ(ok.status, 200) << ok.body;
  }
  // The gateway key never travels upstream.
  for (const auto& r : fake_requests(fake)) {
    const auto& headers = r.at("headers").as_object();
    EXPECT_FALSE(headers.contains("authorization")) << json::serialize(headers);
  }
  EXPECT_EQ(http_get(gw.url("/healthz")).status, 200);  // probes need no key
}

TEST(AuthStyles, EachStyleSendsTheRightHeader) {
  auto fake = start_fake();
  std::string config = "providers:\n" +
      provider_block("bearer", fake.base_url(), "    api_key: k-bearer\n") +
      provider_block("scheme", fake.base_url(), "    api_key: Basic dXNlcjpwYXNz\n") +
      provider_block("header", fake.base_url(), "    api_key: k-header\n    auth_header: X-API-Key\n") +
      provider_block("azure", fake.base_url(), "    api_key: k-azure\n    auth_type: api-key\n    auth_header: api-key\n") +
      provider_block("templated", fake.base_url(), "    api_key: k-tmpl\n    headers:\n      Authorization: \"Token {api_key}\"\n") +
      provider_block("anonymous", fake.base_url(), "    auth_type: none\n    api_key: unused\n");
  auto gw = start_gateway(config);
  struct Expect {
    std::string provider, header, value;
  };
  std::vector<Expect> expectations = {
      {"bearer", "authorization", "Bearer k-bearer"},
      {"scheme", "authorization", "Basic dXNlcjpwYXNz"},
      {"header", "x-api-key", "k-header"},
      {"azure", "api-key", "k-azure"},
      {"templated", "authorization", "Token k-tmpl"},
  };
  for (const auto& e : expectations) {
    http_request("DELETE", "http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests");
    auto r = http_post(gw.url("/v1/chat/completions"),
                       R"({"model":")" + e.provider + R"(/fake-model","messages":[{"role":"user","content":"x"}]})");
    ASSERT_EQ(r.status, 200) << r.body;
    auto headers = fake_requests(fake).at(0).at("headers").as_object();
    ASSERT_TRUE(headers.contains(e.header)) << e.provider << ": " << json::serialize(headers);
    EXPECT_EQ(headers.at(e.header).as_string(), e.value) << e.provider;
    if (e.header != "authorization") {
      EXPECT_FALSE(headers.contains("authorization")) << e.provider;
    }
  }
  http_request("DELETE", "http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests");
  ASSERT_EQ(http_post(gw.url("/v1/chat/completions"),
                      R"({"model":"anonymous/fake-model","messages":[{"role":"user","content":"x"}]})").status, 200);
  auto headers = fake_requests(fake).at(0).at("headers").as_object();
  EXPECT_FALSE(headers.contains("authorization"));
}

TEST(Upstream, UnreachableProviderIs502NamingProviderAndUrl) {
  // A port that was just bound and released: nothing listens there.
  auto fake = start_fake();
  std::string dead_url = fake.base_url();
  fake.process.signal(SIGKILL);
  fake.process.wait();
  auto gw = start_gateway("providers:\n" + provider_block("gone", dead_url, "    api_key: sk-never-shown\n    max_retries: 1\n"));
  auto r = http_post(gw.url("/v1/chat/completions"), kChat);
  EXPECT_EQ(r.status, 502) << r.body;
  std::string message(json::parse(r.body).at("error").at("message").as_string());
  EXPECT_NE(message.find("'gone'"), std::string::npos) << message;
  EXPECT_NE(message.find(dead_url + "/chat/completions"), std::string::npos) << message;
  EXPECT_EQ(message.find("sk-never-shown"), std::string::npos) << message;
}

// The router retries transient failures (5xx and 429 alike) on the deployment up to max_retries.
TEST(Upstream, RetriesServerErrorsAndRateLimitsUpToMaxRetries) {
  auto fake = start_fake();
  // Six failures in a row would open the breaker (default 5) before the last retry.
  auto gw = start_gateway("router:\n  breaker: {consecutive_failures: 100}\nproviders:\n" +
                          provider_block("fake", fake.base_url(), "    max_retries: 2\n"));
  auto r = http_post(gw.url("/v1/chat/completions"),
                     R"({"model":"fake-model","messages":[{"role":"user","content":"x"}],"fake":{"status":503}})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(fake_requests(fake).size(), 3u);  // first try + 2 retries
  http_request("DELETE", "http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests");
  auto limited = http_post(gw.url("/v1/chat/completions"),
                           R"({"model":"fake-model","messages":[{"role":"user","content":"x"}],"fake":{"status":429}})");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(fake_requests(fake).size(), 3u);
  EXPECT_EQ(limited.header("x-llmux-attempts"), "3; fake/fake-model=429,fake/fake-model=429,fake/fake-model=429");
}

TEST(Upstream, BaseUrlWithoutV1OrWithTrailingSlashWorks) {
  auto fake = start_fake();
  std::string root = "http://127.0.0.1:" + std::to_string(fake.port);
  auto gw = start_gateway("providers:\n" + provider_block("bare", root) + provider_block("slash", root + "/v1/"));
  for (const char* p : {"bare", "slash"}) {
    auto r = http_post(gw.url("/v1/chat/completions"),
                       std::string(R"({"model":")") + p + R"(/fake-model","messages":[{"role":"user","content":"x"}]})");
    EXPECT_EQ(r.status, 200) << p << ": " << r.body;
  }
  for (const auto& r : fake_requests(fake)) EXPECT_EQ(r.at("target").as_string(), "/v1/chat/completions");
}

TEST(Shutdown, SigtermLetsStreamsInFlightFinishThenExitsZero) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider_block("fake", fake.base_url()));
  constexpr int kStreams = 4;
  std::vector<std::future<HttpResponse>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::async(std::launch::async, [&] {
      return http_post(gw.url("/v1/chat/completions"),
                       R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"one two three four"}],)"
                       R"("fake":{"chunks":4,"chunk_interval_ms":200}})");
    }));
  }
  // Wait until every stream is running upstream (the fake has recorded it), then signal.
  ASSERT_TRUE(wait_for_requests(fake, kStreams));
  gw.process.signal(SIGTERM);
  for (auto& f : streams) {
    auto r = f.get();
    EXPECT_EQ(r.status, 200);
    auto events = sse_data(r.body);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back(), "[DONE]") << r.body;
  }
  EXPECT_EQ(gw.process.wait(), 0);
  // New connections are refused once the gateway has gone.
  EXPECT_EQ(http_get(gw.url("/healthz")).status, 0);
}

TEST(Shutdown, GracePeriodBoundsAStuckStream) {
  auto fake = start_fake();
  auto gw = start_gateway("server:\n  shutdown_grace: 300ms\nproviders:\n" +
                          provider_block("fake", fake.base_url(), "    timeout: 30s\n"));
  auto stuck = std::async(std::launch::async, [&] {
    return http_post(gw.url("/v1/chat/completions"),
                     R"({"model":"fake-model","messages":[{"role":"user","content":"x"}],"fake":{"hang":true}})");
  });
  ASSERT_TRUE(wait_for_requests(fake, 1));
  auto start = std::chrono::steady_clock::now();
  gw.process.signal(SIGTERM);
  EXPECT_EQ(gw.process.wait(std::chrono::seconds(5)), 1);  // an answer was cut
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  auto cut = stuck.get();
  EXPECT_EQ(cut.status, 503);
  EXPECT_NE(cut.body.find("gateway_shutdown"), std::string::npos) << cut.body;
}

TEST(Config, InvalidConfigFailsToStartWithAllErrors) {
  std::string path = temp_file("providers:\n  a:\n    base_url: ftp://x\n    timeout: soon\n");
  Process p({LLMUX_BINARY, "serve", "--config", path, "--port", "0"});
  EXPECT_NE(p.wait(), 0);
  Process v({LLMUX_BINARY, "validate", "--config", path});
  EXPECT_EQ(v.wait(), 1);
}

TEST(Config, MissingEnvironmentVariableIsNamed) {
  std::string path = temp_file("providers:\n  a:\n    base_url: http://127.0.0.1:9/v1\n    api_key: ${LLMUX_TEST_SURELY_UNSET}\n");
  Process p({LLMUX_BINARY, "validate", "--config", path});
  EXPECT_EQ(p.wait(), 1);
}


// Pooled keep-alive connections die when the provider restarts; the next request must go out on
// a fresh connection instead of failing.
TEST(Upstream, RecoversWhenPooledConnectionsWereClosedByAProviderRestart) {
  auto fake = start_fake();
  int port = fake.port;
  auto gw = start_gateway("providers:\n" + provider_block("fake", fake.base_url(), "    max_retries: 0\n"));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(http_post(gw.url("/v1/chat/completions"), kChat).status, 200);
  fake.process.signal(SIGTERM);
  ASSERT_EQ(fake.process.wait(), 0);
  FakeProvider again{Process({LLMUX_FAKE_BINARY, "--port", std::to_string(port)}), 0};
  ASSERT_EQ(port_from_listening_line(again.process.wait_for_line("listening on ")), port);
  for (int i = 0; i < 3; ++i) {
    auto r = http_post(gw.url("/v1/chat/completions"), kChat);
    EXPECT_EQ(r.status, 200) << r.body;
  }
}


// The curl engine (used for TLS, HTTP/2 and proxies) serves the same cases as the HTTP/1.1 one.
TEST(Upstream, CurlEngineServesPlainStreamErrorsAndTimeouts) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider_block("fake", fake.base_url(), "    timeout: 1s\n    max_retries: 0\n"),
                          {"LLMUX_UPSTREAM_ENGINE=curl"});
  auto plain = http_post(gw.url("/v1/chat/completions"), kChat);
  EXPECT_EQ(plain.status, 200) << plain.body;
  auto stream = http_post(gw.url("/v1/chat/completions"),
                          R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"a b c"}]})");
  EXPECT_EQ(stream.status, 200);
  EXPECT_EQ(sse_data(stream.body).back(), "[DONE]");
  auto limited = http_post(gw.url("/v1/chat/completions"),
                           R"({"model":"fake-model","messages":[{"role":"user","content":"x"}],"fake":{"status":429,"retry_after":"9"}})");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("retry-after"), "9");
  auto hung = http_post(gw.url("/v1/chat/completions"),
                        R"({"model":"fake-model","messages":[{"role":"user","content":"x"}],"fake":{"hang":true}})");
  EXPECT_EQ(hung.status, 504);
  auto reset = http_post(gw.url("/v1/chat/completions"),
                         R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"x"}],"fake":{"reset_after_chunks":1}})");
  EXPECT_NE(sse_data(reset.body).back().find("\"error\""), std::string::npos);
}

// An https upstream whose TLS handshake never completes (a listener that accepts nothing): curl's
// connect limit runs out, and the answer names that limit, not the headers timeout.
TEST(Upstream, CurlEngineNamesAConnectTimeoutAsOne) {
  int port = 0;
  int listener = silent_listener(port);
  ASSERT_GE(listener, 0);
  std::string url = "https://127.0.0.1:" + std::to_string(port) + "/v1";
  auto gw = start_gateway("providers:\n" + provider_block("silent", url,
                                                           "    timeout: 5s\n    max_retries: 0\n"
                                                           "    timeouts: { connect: 300ms }\n"),
                          {"LLMUX_UPSTREAM_ENGINE=curl"});
  auto r = http_post(gw.url("/v1/chat/completions"), R"({"model":"silent/fake-model","messages":[{"role":"user","content":"x"}]})");
  ::close(listener);
  EXPECT_EQ(r.status, 504) << r.body;
  auto error = boost::json::parse(r.body).at("error");
  EXPECT_EQ(error.at("code").as_string(), "upstream_connect_timeout") << r.body;
  std::string message(error.at("message").as_string());
  EXPECT_NE(message.find("silent"), std::string::npos) << message;
  EXPECT_NE(message.find("300ms"), std::string::npos) << message;
}

// Connects, optionally sends `bytes`, then waits (bounded) for the server to close the connection.
// Returns how long that took, or -1 ms if it stayed open past the deadline.
// A raw TCP connection to 127.0.0.1:port, or -1.
int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::chrono::milliseconds time_until_closed(int port, const std::string& bytes, std::chrono::milliseconds deadline) {
  int fd = connect_loopback(port);
  if (fd < 0) return std::chrono::milliseconds(-2);
  if (!bytes.empty()) (void)::write(fd, bytes.data(), bytes.size());
  auto start = std::chrono::steady_clock::now();
  pollfd p{fd, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(deadline.count()));
  char buf[256];
  bool closed = ready > 0 && ::read(fd, buf, sizeof buf) == 0;
  ::close(fd);
  if (!closed) return std::chrono::milliseconds(-1);
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

TEST(Connections, IdleAndStalledClientsAreClosedAfterIdleTimeout) {
  auto fake = start_fake();
  auto gw = start_gateway("server:\n  idle_timeout: 300ms\nproviders:\n" + provider_block("fake", fake.base_url()));
  auto idle = time_until_closed(gw.port, "", std::chrono::seconds(5));
  EXPECT_GE(idle.count(), 250);
  EXPECT_LT(idle.count(), 2000);
  // Half a request (headers promise a body that never comes) is closed the same way.
  auto stalled = time_until_closed(
      gw.port, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{", std::chrono::seconds(5));
  EXPECT_GE(stalled.count(), 250);
  EXPECT_LT(stalled.count(), 2000);
  // A connection in use is not: the gateway still answers.
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), kChat).status, 200);
}


// curl sends "Expect: 100-continue" for bodies over 1 KiB and waits for the interim response.
TEST(Connections, AnswersExpect100ContinueBeforeTheBody) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider_block("fake", fake.base_url()));
  std::string body = R"({"model":"fake-model","messages":[{"role":"user","content":")" + std::string(2000, 'a') + "\"}]}";
  int fd = connect_loopback(gw.port);
  ASSERT_GE(fd, 0);
  std::string head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Expect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  ASSERT_EQ(::write(fd, head.data(), head.size()), static_cast<ssize_t>(head.size()));
  auto read_some = [&](std::chrono::milliseconds deadline) {
    pollfd p{fd, POLLIN, 0};
    std::string got;
    if (::poll(&p, 1, static_cast<int>(deadline.count())) <= 0) return got;
    char buf[65536];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) got.assign(buf, static_cast<size_t>(n));
    return got;
  };
  std::string interim = read_some(std::chrono::seconds(5));
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_EQ(::write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
  std::string response;
  while (response.find("\r\n\r\n") == std::string::npos || response.find("chat.completion") == std::string::npos) {
    std::string more = read_some(std::chrono::seconds(5));
    if (more.empty()) break;
    response += more;
  }
  ::close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK", 0), 0u) << response.substr(0, 200);
}

// Reads from `fd` until `done` says the text is complete or nothing more comes for 5 s.
std::string read_until(int fd, const std::function<bool(const std::string&)>& done) {
  std::string got;
  char buf[65536];
  while (!done(got)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Several requests in one write (HTTP/1.1 pipelining): every one is answered, in order, on the
// same connection, local routes and proxied completions alike.
TEST(Connections, PipelinedRequestsAreAnsweredInOrder) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider_block("fake", fake.base_url()));
  std::string chat = R"({"model":"fake-model","messages":[{"role":"user","content":"x"}]})";
  std::string post = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "x-request-id: pipelined-chat\r\nContent-Length: " + std::to_string(chat.size()) + "\r\n\r\n" + chat;
  std::string healthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string batch = healthz + post + healthz + post + "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n";
  int fd = connect_loopback(gw.port);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, batch.data(), batch.size()), static_cast<ssize_t>(batch.size()));
  std::string got = read_until(fd, [](const std::string& t) { return t.find("unknown_url") != std::string::npos; });
  ::close(fd);
  EXPECT_EQ(count_of(got, "HTTP/1.1 200 OK"), 4u) << got;
  EXPECT_EQ(count_of(got, "x-request-id: pipelined-chat"), 2u) << got;
  size_t first_health = got.find("\"status\":\"ok\"");
  size_t first_chat = got.find("chat.completion");
  size_t not_found = got.find("HTTP/1.1 404");
  EXPECT_LT(first_health, first_chat);
  EXPECT_LT(got.find("\"status\":\"ok\"", first_chat), got.rfind("chat.completion"));
  EXPECT_LT(got.rfind("chat.completion"), not_found);
}

// A request head over 64 KiB gets a 431 in the OpenAI error shape, and the connection closes.
TEST(Connections, OversizedRequestHeadIs431) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider_block("fake", fake.base_url()));
  std::string head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Filler: " + std::string(70 * 1024, 'a') +
                     "\r\nContent-Length: 2\r\n\r\n{}";
  int fd = connect_loopback(gw.port);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, head.data(), head.size()), static_cast<ssize_t>(head.size()));
  std::string got = read_until(fd, [](const std::string&) { return false; });  // until closed
  ::close(fd);
  ASSERT_EQ(got.rfind("HTTP/1.1 431", 0), 0u) << got.substr(0, 300);
  std::string body = got.substr(got.find("\r\n\r\n") + 4);
  auto error = json::parse(body).as_object().at("error").as_object();
  EXPECT_EQ(error.at("type").as_string(), "invalid_request_error");
  EXPECT_EQ(error.at("code").as_string(), "request_header_too_large");
  EXPECT_NE(got.find("Connection: close"), std::string::npos);
}


// An interim 103 before the real answer is skipped, and the connection it came on is reused
// correctly afterwards: every request gets its own answer, never the previous one's.
TEST(Upstream, InterimResponsesAreSkipped) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider_block("fake", fake.base_url(), "    max_retries: 0\n"));
  for (const char* text : {"first", "second", "third"}) {
    std::string body = std::string(R"({"model":"fake-model","messages":[{"role":"user","content":")") + text +
                       R"("}],"fake":{"early_hints":true}})";
    auto r = http_post(gw.url("/v1/chat/completions"), body);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find(std::string("You said: ") + text), std::string::npos) << text << ": " << r.body;
    auto plain = http_post(gw.url("/v1/chat/completions"), kChat);
    EXPECT_EQ(plain.status, 200) << plain.body;
    EXPECT_NE(plain.body.find("You said: hi\""), std::string::npos) << text << ": " << plain.body.substr(0, 400);
  }
  auto stream = http_post(gw.url("/v1/chat/completions"),
                          R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"x"}],"fake":{"early_hints":true}})");
  ASSERT_EQ(stream.status, 200);
  EXPECT_EQ(sse_data(stream.body).back(), "[DONE]");
}

// A test-owned upstream: accepts one connection and answers one request on it.
struct RawUpstream {
  RawUpstream() {
    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listener, 16);
    socklen_t len = sizeof addr;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~RawUpstream() { ::close(listener); }

  // Accepts a connection, reads one request (head and Content-Length body), answers `reply`.
  // -1 when no connection comes within 5 s.
  int answer_one(const std::string& reply) {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return -1;
    int fd = ::accept(listener, nullptr, nullptr);
    std::string got;
    char buf[4096];
    size_t need = std::string::npos;
    while (got.size() < need) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
      size_t end = got.find("\r\n\r\n");
      if (need == std::string::npos && end != std::string::npos) {
        size_t at = got.find("Content-Length: ");
        need = end + 4 + (at < end ? std::stoul(got.substr(at + 16)) : 0);
      }
    }
    std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(reply.size()) + "\r\n\r\n" + reply;
    (void)::write(fd, response.data(), response.size());
    return fd;
  }

  int listener = -1;
  int port = 0;
};

// Bytes a server sends on a kept-alive connection after its response ended are not taken for
// the next response: the next request goes out again on a fresh connection.
TEST(Upstream, StrayBytesOnAPooledConnectionAreNotTheNextResponse) {
  RawUpstream up;
  auto gw = start_gateway("providers:\n" + provider_block("raw", "http://127.0.0.1:" + std::to_string(up.port) + "/v1",
                                                          "    max_retries: 0\n"));
  std::string first = R"({"id":"first","object":"chat.completion","choices":[]})";
  std::string second = R"({"id":"second","object":"chat.completion","choices":[]})";
  int pooled = -1;
  std::thread server([&] { pooled = up.answer_one(first); });
  auto r1 = http_post(gw.url("/v1/chat/completions"), R"({"model":"raw/fake-model","messages":[{"role":"user","content":"x"}]})");
  server.join();
  ASSERT_EQ(r1.status, 200) << r1.body;
  ASSERT_GE(pooled, 0);
  EXPECT_NE(r1.body.find("\"first\""), std::string::npos);
  std::string junk = "stray bytes\r\n";
  ASSERT_EQ(::write(pooled, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  int fresh = -1;
  std::thread server2([&] { fresh = up.answer_one(second); });
  auto r2 = http_post(gw.url("/v1/chat/completions"), R"({"model":"raw/fake-model","messages":[{"role":"user","content":"x"}]})");
  server2.join();
  EXPECT_EQ(r2.status, 200) << r2.body;
  EXPECT_NE(r2.body.find("\"second\""), std::string::npos) << r2.body;
  ::close(pooled);
  ::close(fresh);
}

}  // namespace
}  // namespace llmux::test
