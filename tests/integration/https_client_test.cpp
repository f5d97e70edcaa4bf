// HTTPS for clients (server.tls): the real gateway serving TLS on port 0 with certificates this
// test makes at run time (openssl CLI), a client that trusts only the test's CA, the certificate
// reloaded while a stream is open, and what a client that does not speak TLS gets.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "raw_http.hpp"

namespace llmux::test {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

void run(const std::string& command) {
  ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
}

// A CA and server certificates it signed (for 127.0.0.1 and localhost), each server pair also as
// one PEM file (certificate then key) so that a reload swaps both with one rename.
struct TestPki {
  fs::path dir;
  fs::path ca_cert;

  TestPki() {
    char tmpl[] = "/tmp/llmux-tls-XXXXXX";
    dir = ::mkdtemp(tmpl);
    ca_cert = dir / "ca.crt";
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=llmux-test-ca"
        " -keyout " + (dir / "ca.key").string() + " -out " + ca_cert.string());
    write_text(dir / "san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  }
  ~TestPki() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  // Makes NAME.crt, NAME.key and NAME.pem (both) with subject CN=NAME; returns the .pem.
  fs::path server_pair(const std::string& name) {
    auto base = (dir / name).string();
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name + " -keyout " + base +
        ".key -out " + base + ".csr");
    run("openssl x509 -req -days 2 -in " + base + ".csr -CA " + ca_cert.string() + " -CAkey " + (dir / "ca.key").string() +
        " -CAcreateserial -extfile " + (dir / "san.ext").string() + " -out " + base + ".crt");
    write_text(base + ".pem", read_text(base + ".crt") + read_text(base + ".key"));
    return base + ".pem";
  }
};

struct TlsResponse {
  long status = 0;
  std::string body;
  std::string error;
  std::string subject;  // the server certificate's subject, as curl reports it
};

struct TlsRequest {
  std::string url, body, ca_file;
  long max_tls = 0;  // CURL_SSLVERSION_MAX_*; 0: any
  std::promise<void>* first_piece = nullptr;
};

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* pair = static_cast<std::pair<TlsResponse*, std::promise<void>**>*>(user);
  pair->first->body.append(data, size * n);
  if (*pair->second) {
    (*pair->second)->set_value();
    *pair->second = nullptr;
  }
  return size * n;
}

// One request on a fresh connection, verifying the server against `ca_file` only.
TlsResponse tls_request(TlsRequest r) {
  TlsResponse out;
  CURL* curl = curl_easy_init();
  std::pair<TlsResponse*, std::promise<void>**> sink{&out, &r.first_piece};
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, r.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_CERTINFO, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
  if (r.max_tls) curl_easy_setopt(curl, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2 | r.max_tls);
  if (!r.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r.body.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) out.error = curl_easy_strerror(rc);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  curl_certinfo* info = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_CERTINFO, &info) == CURLE_OK && info && info->num_of_certs > 0)
    for (curl_slist* field = info->certinfo[0]; field; field = field->next)
      if (std::string_view(field->data).rfind("Subject:", 0) == 0) out.subject = field->data;
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (r.first_piece) r.first_piece->set_value();  // nothing arrived: let the waiter see the failure
  return out;
}

std::string tls_config(int fake_port, const fs::path& pem, const std::string& extra_tls = "",
                       const std::string& extra_server = "") {
  return "server:\n" + extra_server + "  tls:\n    cert: " + pem.string() + "\n    key: " + pem.string() + "\n" +
         extra_tls + "providers:\n  - id: fake\n    base_url: http://127.0.0.1:" + std::to_string(fake_port) +
         "/v1\n    api_key: sk-test\n    models: [fake-model]\n";
}

const std::string kChat = R"({"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}]})";
const std::string kStream = R"({"model":"fake/fake-model","stream":true,"messages":[{"role":"user","content":"hi"}]})";

class HttpsClient : public ::testing::Test {
 protected:
  TestPki pki;
  FakeProvider fake = start_fake();
  std::string url(const Gateway& g, const std::string& path = "/v1/chat/completions") {
    return "https://127.0.0.1:" + std::to_string(g.port) + path;
  }
};

TEST_F(HttpsClient, ServesPlainAndStreamedAnswersOverTls) {
  auto pem = pki.server_pair("gen1");
  auto gw = start_gateway(tls_config(fake.port, pem));
  EXPECT_NE(gw.process.output().find("listening on https://"), std::string::npos) << gw.process.output();

  auto plain = tls_request({url(gw), kChat, pki.ca_cert.string()});
  ASSERT_EQ(plain.error, "");
  EXPECT_EQ(plain.status, 200) << plain.body;
  EXPECT_NE(plain.body.find("\"chat.completion\""), std::string::npos) << plain.body;
  EXPECT_NE(plain.subject.find("CN = gen1"), std::string::npos) << plain.subject;

  auto stream = tls_request({url(gw), kStream, pki.ca_cert.string()});
  ASSERT_EQ(stream.error, "");
  EXPECT_EQ(stream.status, 200);
  auto events = sse_data(stream.body);
  ASSERT_GE(events.size(), 2u) << stream.body;
  EXPECT_EQ(events.back(), "[DONE]");

  // A client that trusts another certificate only refuses the gateway: verification is real.
  pki.server_pair("other");
  auto untrusted = tls_request({url(gw), kChat, (pki.dir / "other.crt").string()});
  EXPECT_NE(untrusted.error, "");
}

TEST_F(HttpsClient, MinVersionThirteenRefusesATls12Client) {
  auto pem = pki.server_pair("gen1");
  auto gw = start_gateway(tls_config(fake.port, pem, "    min_version: \"1.3\"\n"));
  auto old_client = tls_request({url(gw), kChat, pki.ca_cert.string(), CURL_SSLVERSION_MAX_TLSv1_2});
  EXPECT_NE(old_client.error, "");
  EXPECT_EQ(old_client.status, 0);
  auto current = tls_request({url(gw), kChat, pki.ca_cert.string()});
  EXPECT_EQ(current.status, 200) << current.error;
}

TEST_F(HttpsClient, PlainHttpToTheTlsPortGetsAnErrorAndAClose) {
  auto pem = pki.server_pair("gen1");
  auto gw = start_gateway(tls_config(fake.port, pem));
  RawConnection raw(gw.port);
  ASSERT_TRUE(raw.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: " + std::to_string(kChat.size()) + "\r\n\r\n" + kChat));
  auto r = raw.read_response(std::chrono::seconds(5));
  ASSERT_TRUE(r.complete) << raw.received();
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("plain_http_to_https_port"), std::string::npos) << r.body;
  EXPECT_TRUE(raw.wait_closed(std::chrono::seconds(5)));
}

TEST_F(HttpsClient, AClientThatNeverFinishesItsHandshakeIsClosedAtTheIdleTimeout) {
  auto pem = pki.server_pair("gen1");
  auto gw = start_gateway(tls_config(fake.port, pem, "", "  idle_timeout: 300ms\n"));
  RawConnection silent(gw.port);
  RawConnection half(gw.port);
  ASSERT_TRUE(half.send(std::string("\x16\x03\x01\x00\xff", 5)));  // a ClientHello's record header, no more
  EXPECT_TRUE(silent.wait_closed(std::chrono::seconds(5)));
  EXPECT_TRUE(half.wait_closed(std::chrono::seconds(5)));
  // The gateway is still serving.
  EXPECT_EQ(tls_request({url(gw), kChat, pki.ca_cert.string()}).status, 200);
}

TEST_F(HttpsClient, ABadCertificateOrKeyIsAStartupError) {
  auto pem = pki.server_pair("gen1");
  pki.server_pair("other");
  struct Case {
    std::string cert, key, expected;
  } cases[] = {
      {(pki.dir / "missing.crt").string(), pem.string(), "server.tls.cert " + (pki.dir / "missing.crt").string()},
      {(pki.dir / "san.ext").string(), pem.string(), "not a PEM certificate"},
      {(pki.dir / "gen1.crt").string(), (pki.dir / "other.key").string(), "does not match the certificate"},
  };
  for (const auto& c : cases) {
    std::string config = "server:\n  tls:\n    cert: " + c.cert + "\n    key: " + c.key + "\nproviders: []\n";
    auto path = temp_file(config);
    Process p({LLMUX_BINARY, "serve", "--config", path, "--port", "0", "--no-discover"}, {}, true);
    EXPECT_EQ(p.wait(), 1);
    EXPECT_NE(p.output().find(c.expected), std::string::npos) << p.output();
    EXPECT_EQ(p.output().find("listening on"), std::string::npos);
    ::unlink(path.c_str());
  }
}

TEST_F(HttpsClient, ANewCertificateReachesNewConnectionsWhileAnOpenStreamCompletes) {
  auto live = pki.dir / "live.pem";
  fs::copy_file(pki.server_pair("gen1"), live);
  auto gen2 = pki.server_pair("gen2");
  auto gw = start_gateway(tls_config(fake.port, live));

  // A stream of 20 events 100 ms apart, open across the reload.
  std::promise<void> first_piece;
  auto arrived = first_piece.get_future();
  std::string slow = R"({"model":"fake/fake-model","stream":true,"messages":[{"role":"user","content":"hi"}],)"
                     R"("fake":{"chunks":20,"chunk_interval_ms":100}})";
  auto open_stream =
      std::async(std::launch::async, [&] { return tls_request({url(gw), slow, pki.ca_cert.string(), 0, &first_piece}); });
  ASSERT_EQ(arrived.wait_for(std::chrono::seconds(10)), std::future_status::ready);

  // One rename swaps certificate and key together; the file watcher reloads.
  fs::copy_file(gen2, pki.dir / "next.pem");
  fs::rename(pki.dir / "next.pem", live);
  ASSERT_NE(gw.process.wait_for_line("reloaded:"), "") << gw.process.output();
  auto fresh = tls_request({url(gw), kChat, pki.ca_cert.string()});
  EXPECT_EQ(fresh.status, 200) << fresh.error;
  EXPECT_NE(fresh.subject.find("CN = gen2"), std::string::npos) << fresh.subject;

  auto stream = open_stream.get();
  EXPECT_EQ(stream.error, "");
  EXPECT_NE(stream.subject.find("CN = gen1"), std::string::npos) << stream.subject;
  auto events = sse_data(stream.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(events.size(), 20u + 3u) << stream.body;  // role, 20 contents, finish, [DONE]

  // A broken pair is refused on reload: new connections keep the last good certificate.
  write_text(pki.dir / "next.pem", read_text(pki.dir / "gen1.crt") + read_text(pki.dir / "gen2.key"));
  fs::rename(pki.dir / "next.pem", live);
  ASSERT_NE(gw.process.wait_for_line("reloaded:"), "") << gw.process.output();
  auto after_bad = tls_request({url(gw), kChat, pki.ca_cert.string()});
  EXPECT_EQ(after_bad.status, 200) << after_bad.error;
  EXPECT_NE(after_bad.subject.find("CN = gen2"), std::string::npos) << after_bad.subject;
}

}  // namespace
}  // namespace llmux::test
