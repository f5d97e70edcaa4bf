// Providers over TLS through the gateway's own HTTP/1.1 engine: the fake provider serves TLS with
// certificates made here at run time (openssl CLI), and the gateway must verify them, reuse its
// connections, resume sessions on new ones, and name the provider, URL and reason when a
// certificate or version is refused.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <boost/json.hpp>

#include "harness.hpp"
#include "raw_http.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

constexpr const char* kChat = R"({"model":"tls/fake-model","messages":[{"role":"user","content":"hi"}]})";
constexpr const char* kStream =
    R"({"model":"tls/fake-model","stream":true,"messages":[{"role":"user","content":"hi"}]})";

void run(const std::string& command) {
  int rc = std::system((command + " >/dev/null 2>&1").c_str());
  if (rc != 0) throw std::runtime_error("failed: " + command);
}

// A test PKI: a trusted CA, a second CA nobody trusts, and certificates for every case.
struct Pki {
  std::string dir;
  std::string path(const std::string& name) const { return dir + "/" + name; }

  void ca(const std::string& name) {
    run("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + path(name + ".key") + " -out " +
        path(name + ".pem") + " -days 2 -subj /CN=" + name);
  }
  // A certificate for `san` signed by `ca`, valid now, or in 2020 only (`expired`).
  void leaf(const std::string& name, const std::string& ca, const std::string& san, bool expired = false) {
    run("openssl req -newkey rsa:2048 -nodes -keyout " + path(name + ".key") + " -out " + path(name + ".csr") +
        " -subj /CN=" + name);
    std::ofstream(path(name + ".ext")) << "subjectAltName=" << san << "\n";
    if (!expired) {
      run("openssl x509 -req -in " + path(name + ".csr") + " -CA " + path(ca + ".pem") + " -CAkey " +
          path(ca + ".key") + " -CAcreateserial -out " + path(name + ".pem") + " -days 2 -extfile " +
          path(name + ".ext"));
      return;
    }
    std::ofstream(path("index.txt")).close();
    std::ofstream(path("serial")) << "1000\n";
    std::ofstream(path("ca.cnf")) << "[ca]\ndefault_ca=d\n[d]\ndatabase=" << path("index.txt")
                                  << "\nnew_certs_dir=" << dir << "\nserial=" << path("serial")
                                  << "\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n";
    run("openssl ca -batch -notext -config " + path("ca.cnf") + " -cert " + path(ca + ".pem") + " -keyfile " +
        path(ca + ".key") + " -in " + path(name + ".csr") + " -out " + path(name + ".pem") +
        " -startdate 20200101000000Z -enddate 20200102000000Z -extfile " + path(name + ".ext"));
  }
};

class TlsUpstream : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/llmux-tls-XXXXXX";
    pki_.dir = ::mkdtemp(tmpl);
    pki_.ca("ca");
    pki_.ca("rogue");
    pki_.leaf("server", "ca", "IP:127.0.0.1,DNS:localhost");
    pki_.leaf("elsewhere", "ca", "DNS:other.example");
    pki_.leaf("untrusted", "rogue", "IP:127.0.0.1");
    pki_.leaf("expired", "ca", "IP:127.0.0.1", true);
    pki_.leaf("client", "ca", "DNS:llmux-client");
  }
  static void TearDownTestSuite() { run("rm -rf " + pki_.dir); }

  struct TlsFake {
    Process process;
    int port = 0;       // TLS
    int cleartext = 0;  // the same server without TLS, for /_fake/tls
    std::string base_url() const { return "https://127.0.0.1:" + std::to_string(port) + "/v1"; }
    json::object stats() const {
      auto r = http_get("http://127.0.0.1:" + std::to_string(cleartext) + "/_fake/tls");
      return json::parse(r.body).as_object();
    }
  };

  static TlsFake start_tls_fake(const std::string& cert, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {LLMUX_FAKE_BINARY, "--port", "0", "--tls-cert", pki_.path(cert + ".pem"),
                                     "--tls-key", pki_.path(cert + ".key")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    TlsFake fake{Process(argv)};
    std::string tls = fake.process.wait_for_line("listening on https://");
    std::string plain = fake.process.wait_for_line("cleartext on http://");
    fake.port = std::atoi(tls.c_str() + tls.rfind(':') + 1);
    fake.cleartext = std::atoi(plain.c_str() + plain.rfind(':') + 1);
    if (!fake.port || !fake.cleartext) throw std::runtime_error("fake did not start: " + fake.process.output());
    return fake;
  }

  // One worker thread, so that every request shares one connection pool.
  static Gateway gateway(const std::string& base_url, const std::string& extra = "") {
    return start_gateway("providers:\n  tls:\n    base_url: " + base_url +
                             "\n    models: [fake-model]\n    max_retries: 0\n    tls:\n      ca_file: " +
                             pki_.path("ca.pem") + "\n" + extra,
                         {}, {"--threads", "1"});
  }

  // The error of a refused upstream: 502, OpenAI shape, naming the provider, the URL and `reason`.
  static void expect_refused(const HttpResponse& r, const std::string& url, const std::string& reason) {
    EXPECT_EQ(r.status, 502) << r.body;
    auto error = json::parse(r.body).at("error").as_object();
    std::string message(error.at("message").as_string());
    EXPECT_NE(message.find("provider 'tls'"), std::string::npos) << message;
    EXPECT_NE(message.find(url), std::string::npos) << message;
    EXPECT_NE(message.find(reason), std::string::npos) << message;
    EXPECT_TRUE(error.contains("type") && error.contains("code")) << r.body;
  }

  static Pki pki_;
};

Pki TlsUpstream::pki_;

TEST_F(TlsUpstream, PlainAndStreamOverOneKeptAliveConnection) {
  auto fake = start_tls_fake("server");
  auto gw = gateway(fake.base_url());
  ASSERT_EQ(http_post(gw.url("/v1/chat/completions"), kChat).status, 200);
  auto before = fake.stats();
  for (int i = 0; i < 3; ++i) {
    auto plain = http_post(gw.url("/v1/chat/completions"), kChat);
    ASSERT_EQ(plain.status, 200) << plain.body;
    EXPECT_EQ(json::parse(plain.body).at("object").as_string(), "chat.completion");
    auto stream = http_post(gw.url("/v1/chat/completions"), kStream);
    ASSERT_EQ(stream.status, 200) << stream.body;
    auto events = sse_data(stream.body);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back(), "[DONE]");
  }
  // The six requests after the first open no connection and make no handshake.
  auto stats = fake.stats();
  EXPECT_EQ(stats.at("accepted").as_int64(), before.at("accepted").as_int64()) << json::serialize(stats);
  EXPECT_EQ(stats.at("handshakes").as_int64(), before.at("handshakes").as_int64()) << json::serialize(stats);
  EXPECT_GE(stats.at("handshakes").as_int64(), 1);
}

// A stream holds the first connection, so the next request opens a second one: it resumes the
// session the first one got (TLS 1.3 ticket) instead of a full handshake.
TEST_F(TlsUpstream, ASecondConnectionResumesTheSession) {
  auto fake = start_tls_fake("server", {"--chunks", "5", "--chunk-interval-ms", "200"});
  auto gw = gateway(fake.base_url());
  RawConnection held(gw.port);
  ASSERT_TRUE(held.send(raw_post("/v1/chat/completions", kStream)));
  held.read_until([](const std::string& got) { return got.find("data: ") != std::string::npos; });
  ASSERT_NE(held.received().find("data: "), std::string::npos) << held.received();
  auto plain = http_post(gw.url("/v1/chat/completions"), kChat);
  ASSERT_EQ(plain.status, 200) << plain.body;
  // Every connection after the first (the held stream's, or the health probe's) resumed.
  auto stats = fake.stats();
  EXPECT_GE(stats.at("handshakes").as_int64(), 2) << json::serialize(stats);
  EXPECT_EQ(stats.at("resumed").as_int64(), stats.at("handshakes").as_int64() - 1) << json::serialize(stats);
}

TEST_F(TlsUpstream, UnknownCaIsRefusedWithTheReason) {
  auto fake = start_tls_fake("untrusted");
  auto gw = gateway(fake.base_url());
  expect_refused(http_post(gw.url("/v1/chat/completions"), kChat), fake.base_url(),
                 "unable to get local issuer certificate");
}

TEST_F(TlsUpstream, ExpiredCertificateIsRefused) {
  auto fake = start_tls_fake("expired");
  auto gw = gateway(fake.base_url());
  expect_refused(http_post(gw.url("/v1/chat/completions"), kChat), fake.base_url(), "certificate has expired");
}

TEST_F(TlsUpstream, HostnameMismatchIsRefused) {
  auto fake = start_tls_fake("elsewhere");
  auto gw = gateway(fake.base_url());
  expect_refused(http_post(gw.url("/v1/chat/completions"), kChat), fake.base_url(), "IP address mismatch");
  // The name the certificate carries, given as tls.server_name, is accepted.
  auto named = gateway(fake.base_url(), "      server_name: other.example\n");
  EXPECT_EQ(http_post(named.url("/v1/chat/completions"), kChat).status, 200);
  auto wrong = gateway(fake.base_url(), "      server_name: localhost\n");
  expect_refused(http_post(wrong.url("/v1/chat/completions"), kChat), fake.base_url(), "hostname mismatch");
}

TEST_F(TlsUpstream, MinimumVersionAboveTheServersIsRefused) {
  auto fake = start_tls_fake("server", {"--tls-max-version", "1.2"});
  auto tls12 = gateway(fake.base_url());
  EXPECT_EQ(http_post(tls12.url("/v1/chat/completions"), kChat).status, 200);
  auto gw = gateway(fake.base_url(), "    security: { tlsVersion: \"1.3\", certificateValidation: true, allowInsecure: false }\n");
  expect_refused(http_post(gw.url("/v1/chat/completions"), kChat), fake.base_url(), "protocol version");
}

TEST_F(TlsUpstream, MutualTlsWorksWithTheClientCertificateOnly) {
  auto fake = start_tls_fake("server", {"--tls-client-ca", pki_.path("ca.pem")});
  auto with = gateway(fake.base_url(), "      client_cert: " + pki_.path("client.pem") + "\n      client_key: " +
                                           pki_.path("client.key") + "\n");
  auto ok = http_post(with.url("/v1/chat/completions"), kChat);
  EXPECT_EQ(ok.status, 200) << ok.body;
  auto without = gateway(fake.base_url());
  auto refused = http_post(without.url("/v1/chat/completions"), kChat);
  EXPECT_EQ(refused.status, 502) << refused.body;
  std::string message(json::parse(refused.body).at("error").at("message").as_string());
  EXPECT_NE(message.find("provider 'tls'"), std::string::npos) << message;
  EXPECT_NE(message.find(fake.base_url()), std::string::npos) << message;
}

// With validation off (allowed by allowInsecure), an untrusted certificate is accepted, and the
// gateway warns at start.
TEST_F(TlsUpstream, ValidationOffIsAllowedWithAllowInsecureAndWarns) {
  auto fake = start_tls_fake("untrusted");
  std::string config = temp_file("providers:\n  tls:\n    base_url: " + fake.base_url() +
                                 "\n    models: [fake-model]\n    max_retries: 0\n"
                                 "    security: { certificateValidation: false, allowInsecure: true }\n");
  char home[] = "/tmp/llmux-test-home-XXXXXX";
  ASSERT_TRUE(::mkdtemp(home));
  Process gw({LLMUX_BINARY, "serve", "--config", config, "--port", "0"},
             {std::string("XDG_STATE_HOME=") + home + "/s", std::string("XDG_CONFIG_HOME=") + home + "/c"}, true);
  int port = port_from_listening_line(gw.wait_for_line("listening on "));
  ASSERT_NE(port, 0) << gw.output();
  EXPECT_EQ(http_post("http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions", kChat).status, 200);
  // The warning is written by the log thread: read lines until it shows (bounded by each wait).
  for (int i = 0; i < 20 && gw.output().find("certificate validation is OFF") == std::string::npos; ++i)
    if (gw.wait_for_line("", std::chrono::seconds(2)).empty()) break;
  EXPECT_NE(gw.output().find("provider 'tls': certificate validation is OFF"), std::string::npos) << gw.output();
}

// A refused certificate is a connect failure: the router moves on to the next deployment.
TEST_F(TlsUpstream, ARefusedCertificateFallsBackToTheNextDeployment) {
  auto bad = start_tls_fake("expired");
  auto good = start_tls_fake("server");
  auto gw = start_gateway("providers:\n"
                          "  first:\n    base_url: " + bad.base_url() + "\n    models: [fake-model]\n    max_retries: 0\n"
                          "    tls: { ca_file: " + pki_.path("ca.pem") + " }\n"
                          "  second:\n    base_url: " + good.base_url() + "\n    models: [fake-model]\n    max_retries: 0\n"
                          "    tls: { ca_file: " + pki_.path("ca.pem") + " }\n"
                          "models:\n  chat:\n    deployments:\n"
                          "      - { provider: first, model: fake-model, priority: 1 }\n"
                          "      - { provider: second, model: fake-model, priority: 2 }\n");
  auto r = http_post(gw.url("/v1/chat/completions"), R"({"model":"chat","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(good.stats().at("handshakes").as_int64(), 1);
}

// A listener that accepts and never answers the handshake: the connect limit covers TCP and TLS.
TEST_F(TlsUpstream, AHandshakeThatNeverCompletesIsAConnectTimeout) {
  int port = 0;
  int listener = silent_listener(port);
  ASSERT_GE(listener, 0);
  std::string url = "https://127.0.0.1:" + std::to_string(port) + "/v1";
  auto gw = gateway(url, "    timeouts: { connect: 300ms }\n");
  auto r = http_post(gw.url("/v1/chat/completions"), kChat);
  ::close(listener);
  EXPECT_EQ(r.status, 504) << r.body;
  auto error = json::parse(r.body).at("error");
  EXPECT_EQ(error.at("code").as_string(), "upstream_connect_timeout") << r.body;
  EXPECT_NE(std::string(error.at("message").as_string()).find("300ms"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace llmux::test
