// The client connection as HTTP sees it, through the real binary: one gateway per port, HTTP/1.0,
// HEAD, CORS, body types, Expect before the key check, connection limits, slow readers, signals.
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <memory>

#include "harness.hpp"
#include "raw_http.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

const std::string kChat = R"({"model":"fake-model","messages":[{"role":"user","content":"hi"}]})";
const std::string kStream = R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"hi"}]})";

std::string fake_provider(const FakeProvider& fake, const std::string& extra = "") {
  return "providers:\n  fake:\n    base_url: " + fake.base_url() + "\n    models: [fake-model]\n" + extra;
}

// Polls a condition on real state (an HTTP answer) until it holds or the deadline passes.
template <typename F>
bool eventually(F&& condition, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    ::poll(nullptr, 0, 20);
  }
  return condition();
}

double metric(const Gateway& gw, const std::string& name) {
  auto text = http_get(gw.url("/metrics")).body;
  size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

TEST(Listen, APortAnotherGatewayHoldsIsAnErrorNamingIt) {
  auto fake = start_fake();
  auto first = start_gateway(fake_provider(fake));
  std::string config = temp_file(fake_provider(fake));
  Process second({LLMUX_BINARY, "serve", "--config", config, "--port", std::to_string(first.port)});
  EXPECT_EQ(second.wait(std::chrono::seconds(10)), 1);
  // The first one still answers every request (the kernel is not splitting them).
  for (int i = 0; i < 20; ++i) ASSERT_EQ(http_post(first.url("/v1/chat/completions"), kChat).status, 200);
}

TEST(Http10, AStreamIsNotChunkedAndEndsWithTheConnection) {
  auto fake = start_fake();
  auto gw = start_gateway(fake_provider(fake));
  RawConnection c(gw.port);
  ASSERT_TRUE(c.send(raw_post("/v1/chat/completions", kStream, "Connection: keep-alive\r\n", "HTTP/1.0")));
  auto r = c.read_response();
  ASSERT_TRUE(r.complete) << r.head;
  EXPECT_EQ(r.head.rfind("HTTP/1.0 200", 0), 0u) << r.head;
  EXPECT_EQ(r.header("transfer-encoding"), "");
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos) << r.body;
  EXPECT_TRUE(c.wait_closed(std::chrono::seconds(5)));
}

TEST(Http10, KeepAliveForPlainAnswersIsHonoured) {
  auto fake = start_fake();
  auto gw = start_gateway(fake_provider(fake));
  RawConnection c(gw.port);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.send(raw_post("/v1/chat/completions", kChat, "Connection: keep-alive\r\n", "HTTP/1.0")));
    auto r = c.read_response();
    ASSERT_TRUE(r.complete);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("connection"), "keep-alive");
  }
}

TEST(Head, HeadRequestsGetHeadersWithoutABody) {
  auto fake = start_fake();
  auto gw = start_gateway(fake_provider(fake));
  RawConnection c(gw.port);
  ASSERT_TRUE(c.send("HEAD /v1/models HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.read_response(std::chrono::seconds(5), true);
  ASSERT_TRUE(head.complete);
  EXPECT_EQ(head.status, 200);
  EXPECT_NE(head.header("content-length"), "0");
  // Had a body followed, it would be read as the next response.
  auto next = c.read_response();
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, R"({"status":"ok"})");
}

TEST(Cors, PreflightIsAnsweredWithoutAKeyAndAnswersCarryTheOrigin) {
  auto fake = start_fake();
  auto gw = start_gateway("master_key: mk-1234\nserver:\n  cors: {origins: [\"https://app.example\"], max_age: 300}\n" +
                          fake_provider(fake));
  std::string preflight = "OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
                          "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization\r\n\r\n";
  RawConnection c(gw.port);
  ASSERT_TRUE(c.send(preflight));
  auto r = c.read_response();
  EXPECT_EQ(r.status, 204) << r.head;
  EXPECT_EQ(r.header("access-control-allow-origin"), "https://app.example");
  EXPECT_NE(r.header("access-control-allow-methods").find("POST"), std::string::npos);
  EXPECT_NE(r.header("access-control-allow-headers").find("authorization"), std::string::npos);
  EXPECT_EQ(r.header("access-control-max-age"), "300");
  auto ok = http_post(gw.url("/v1/chat/completions"), kChat,
                      {"Content-Type: application/json", "Authorization: Bearer mk-1234", "Origin: https://app.example"});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.header("access-control-allow-origin"), "https://app.example");
  // Another origin gets no CORS grant (the browser then blocks the answer).
  auto other = http_post(gw.url("/v1/chat/completions"), kChat,
                         {"Content-Type: application/json", "Authorization: Bearer mk-1234", "Origin: https://evil.example"});
  EXPECT_EQ(other.header("access-control-allow-origin"), "");
}

TEST(Cors, OffByDefault) {
  auto fake = start_fake();
  auto gw = start_gateway("master_key: mk-1234\n" + fake_provider(fake));
  auto r = http_request("OPTIONS", gw.url("/v1/chat/completions"), {}, {"Origin: https://app.example",
                        "Access-Control-Request-Method: POST"});
  EXPECT_EQ(r.status, 204);  // not 401: a preflight carries no key
  EXPECT_EQ(r.header("access-control-allow-origin"), "");
}

TEST(BodyType, JsonWithoutTheRightContentTypeIsAccepted) {
  auto fake = start_fake();
  auto gw = start_gateway(fake_provider(fake));
  // What `curl -d` sends, and no type at all.
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), kChat, {"Content-Type: application/x-www-form-urlencoded"}).status, 200);
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), kChat, {"Content-Type:"}).status, 200);
  auto text = http_post(gw.url("/v1/chat/completions"), kChat, {"Content-Type: text/plain"});
  EXPECT_EQ(text.status, 415);
  auto not_json = http_post(gw.url("/v1/chat/completions"), "model=x", {"Content-Type: application/x-www-form-urlencoded"});
  EXPECT_EQ(not_json.status, 400);
}

TEST(Expect, TheKeyIsCheckedBeforeTheBodyIsAskedFor) {
  auto fake = start_fake();
  auto gw = start_gateway("master_key: mk-1234\n" + fake_provider(fake));
  RawConnection c(gw.port);
  ASSERT_TRUE(c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
  auto r = c.read_response();
  EXPECT_EQ(r.status, 401) << r.head;  // not "100 Continue"
  EXPECT_TRUE(r.closed);
}

TEST(Limits, ConnectionsOverTheCapAreRefusedWith503AndCounted) {
  auto fake = start_fake();
  auto gw = start_gateway("server:\n  max_connections: 3\n" + fake_provider(fake));
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 2; ++i) {  // plus the metrics scrape below: 3
    held.push_back(std::make_unique<RawConnection>(gw.port));
    ASSERT_TRUE(held.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(held.back()->read_response().status, 200);
  }
  RawConnection third(gw.port);
  ASSERT_TRUE(third.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto metrics = third.read_response();
  EXPECT_NE(metrics.body.find("llmux_client_connections 3"), std::string::npos) << metrics.body;
  RawConnection over(gw.port);
  auto refused = over.read_response();
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("max_connections"), std::string::npos);
  EXPECT_TRUE(refused.closed);
  held.clear();
  ASSERT_TRUE(eventually([&] { return http_get(gw.url("/healthz")).status == 200; }));
  EXPECT_GE(metric(gw, "llmux_client_connections_refused_total"), 1);
}

// At the file-descriptor limit the acceptor waits instead of spinning on EMFILE, and serves again
// once descriptors are free.
TEST(Limits, AtTheDescriptorLimitTheAcceptorDoesNotSpin) {
  auto fake = start_fake();
  std::string config = temp_file("server:\n  max_connections: 100000\n" + fake_provider(fake));
  Process gw({"/usr/bin/prlimit", "--nofile=64:64", LLMUX_BINARY, "serve", "--config", config, "--port", "0"});
  int port = port_from_listening_line(gw.wait_for_line("listening on"));
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 120; ++i) held.push_back(std::make_unique<RawConnection>(port));
  auto cpu_seconds = [&] {
    std::ifstream stat("/proc/" + std::to_string(gw.pid()) + "/stat");
    std::string s((std::istreambuf_iterator<char>(stat)), {});
    std::istringstream fields(s.substr(s.rfind(')') + 2));
    std::string f;
    long ticks = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i)
      if (i == 14 || i == 15) ticks += std::stol(f);
    return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  };
  double before = cpu_seconds();
  ::poll(nullptr, 0, 1000);  // a measurement window, not synchronisation
  double used = cpu_seconds() - before;
  EXPECT_LT(used, 0.3) << "the acceptor spun on EMFILE";
  held.clear();
  // Descriptors are free again: new connections are served (after the acceptor's back-off).
  EXPECT_TRUE(eventually([&] {
    return http_get("http://127.0.0.1:" + std::to_string(port) + "/healthz", {}).status == 200;
  }));
}

// A client that stops reading a long stream is disconnected after server.write_timeout, and the
// upstream transfer behind it ends too.
TEST(Limits, AClientThatStopsReadingIsDisconnectedAfterTheWriteTimeout) {
  auto fake = start_fake();
  auto gw = start_gateway("server:\n  write_timeout: 500ms\n" + fake_provider(fake));
  RawConnection c(gw.port);
  int small = 4096;
  ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  // More than every socket buffer between the gateway and this reader can hold.
  std::string words;
  for (int i = 0; i < 900000; ++i) words += "abcdefgh ";
  std::string big = R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"hi"}],)"
                    R"("fake":{"chunks":4000,"content":")" + words + R"("}})";
  ASSERT_TRUE(c.send(raw_post("/v1/chat/completions", big)));
  ASSERT_TRUE(eventually([&] { return metric(gw, "llmux_client_connections") == 2; }));  // it and the scrape
  EXPECT_TRUE(eventually([&] { return metric(gw, "llmux_client_connections") == 1; }, std::chrono::seconds(10)))
      << "the stalled reader is still connected";
}

TEST(Signals, SighupReloadsAndKeepsServing) {
  auto fake = start_fake();
  auto gw = start_gateway(fake_provider(fake), {}, {"--no-watch"});
  {
    std::ofstream(gw.config_path) << "providers:\n  renamed:\n    base_url: " << fake.base_url()
                                  << "\n    models: [fake-model]\n";
  }
  gw.process.signal(SIGHUP);
  gw.process.wait_for_line("reloaded:");
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"),
                      R"({"model":"renamed/fake-model","messages":[{"role":"user","content":"x"}]})").status, 200);
}

TEST(Signals, StreamsCutAtTheEndOfTheGraceGetAnErrorEventAndTheExitSaysSo) {
  auto fake = start_fake();
  auto gw = start_gateway("server:\n  shutdown_grace: 300ms\n" + fake_provider(fake));
  RawConnection c(gw.port);
  std::string slow = R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"hi"}],)"
                     R"("fake":{"chunks":100,"chunk_interval_ms":100}})";
  ASSERT_TRUE(c.send(raw_post("/v1/chat/completions", slow)));
  std::string started = c.read_until_text("data: ", std::chrono::seconds(5));
  ASSERT_NE(started.find("data: "), std::string::npos);
  gw.process.signal(SIGTERM);
  std::string all = started + c.read_until_text("\r\n0\r\n\r\n", std::chrono::seconds(5));
  EXPECT_EQ(gw.process.wait(), 1);
  EXPECT_NE(all.find("\r\n0\r\n\r\n"), std::string::npos) << "no proper end of the chunked body";
  EXPECT_EQ(all.find("[DONE]"), std::string::npos);
  EXPECT_NE(all.find("gateway shutting down"), std::string::npos);
}

}  // namespace
}  // namespace llmux::test

namespace llmux::test {
namespace {

// An operator sees failures on stderr as they happen: one line per failed upstream attempt and
// per rejected request, with the request id, and never a credential.
TEST(Logging, FailedAttemptsAndRejectedRequestsAreLoggedWithoutSecrets) {
  auto fake = start_fake({"--require-key", "sk-upstream-secret-1234"});
  std::string config = temp_file("master_key: mk-gateway-secret-5678\nproviders:\n  fake:\n    base_url: " +
                                 fake.base_url() + "\n    api_key: sk-upstream-secret-1234\n    max_retries: 1\n"
                                 "    models: [fake-model]\n");
  Process gw({LLMUX_BINARY, "serve", "--config", config, "--port", "0"}, {}, true);
  int port = port_from_listening_line(gw.wait_for_line("listening on"));
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions";
  std::vector<std::string> keyed = {"Content-Type: application/json", "Authorization: Bearer mk-gateway-secret-5678"};
  auto failing = keyed;
  failing.push_back("x-request-id: req-failing-1");
  auto r = http_post(url, R"({"model":"fake-model","messages":[{"role":"user","content":"x"}],"fake":{"status":503}})",
                     failing);
  EXPECT_EQ(r.status, 503);
  auto unauthorized = http_post(url, kChat, {"Content-Type: application/json", "Authorization: Bearer wrong-key-000"});
  EXPECT_EQ(unauthorized.status, 401);
  // Two attempts (max_retries 1), then the rejection; then the 401. Lines are read as they come.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until && gw.output().find("invalid_api_key") == std::string::npos)
    gw.wait_for_line("2", std::chrono::milliseconds(500));
  const std::string& log = gw.output();
  EXPECT_NE(log.find("request req-failing-1: provider 'fake' attempt 1 failed: status 503"), std::string::npos) << log;
  EXPECT_NE(log.find("request req-failing-1: provider 'fake' attempt 2 failed: status 503"), std::string::npos) << log;
  EXPECT_NE(log.find("request req-failing-1 rejected: 503"), std::string::npos) << log;
  EXPECT_NE(log.find("rejected: 401 invalid_api_key"), std::string::npos) << log;
  for (const char* secret : {"sk-upstream-secret-1234", "mk-gateway-secret-5678", "wrong-key-000"})
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in the log";
}

// metrics.public: unset means public only on loopback; a gateway on all interfaces asks for a key.
TEST(Metrics, ExposureWithoutAKeyIsAConfigChoice) {
  auto fake = start_fake();
  auto open_all = start_gateway("master_key: mk-1234\nserver:\n  host: 0.0.0.0\n" + fake_provider(fake));
  EXPECT_EQ(http_get(open_all.url("/metrics")).status, 401);
  EXPECT_EQ(http_get(open_all.url("/metrics"), {"Authorization: Bearer mk-1234"}).status, 200);
  auto chosen = start_gateway("master_key: mk-1234\nserver:\n  host: 0.0.0.0\nmetrics: {public: true}\n" +
                              fake_provider(fake));
  EXPECT_EQ(http_get(chosen.url("/metrics")).status, 200);
  auto loopback = start_gateway("master_key: mk-1234\n" + fake_provider(fake));
  EXPECT_EQ(http_get(loopback.url("/metrics")).status, 200);
  auto closed = start_gateway("master_key: mk-1234\nmetrics: {public: false}\n" + fake_provider(fake));
  EXPECT_EQ(http_get(closed.url("/metrics")).status, 401);
}

}  // namespace
}  // namespace llmux::test
