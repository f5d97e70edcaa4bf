// A provider's `security:` (the seeds' camelCase keys) and `tls:` settings.
#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace llmux {
namespace {

using config_test::load_errors;
using config_test::load_ok;

bool contains(const std::vector<std::string>& errors, const std::string& text) {
  for (const auto& e : errors)
    if (e.find(text) != std::string::npos) return true;
  return false;
}

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

TEST(TlsKeys, TheSeedsSecurityBlockAndTheTlsFilesLoad) {
  auto config = load_ok(R"({"id": "private_server", "type": "openai-compatible",
    "baseUrl": "https://your-private-server.com/v1", "apiKey": "k",
    "security": {"tlsVersion": "1.3", "certificateValidation": true, "allowInsecure": false},
    "tls": {"ca_file": "/etc/ca.pem", "clientCert": "/etc/c.pem", "client_key": "/etc/c.key", "serverName": "inner"}})");
  ASSERT_EQ(config.providers.size(), 1u);
  const auto& tls = config.providers[0].tls;
  EXPECT_EQ(tls.min_version, TlsVersion::tls1_3);
  EXPECT_TRUE(tls.verify);
  EXPECT_FALSE(tls.allow_insecure);
  EXPECT_EQ(tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(tls.client_cert, "/etc/c.pem");
  EXPECT_EQ(tls.client_key, "/etc/c.key");
  EXPECT_EQ(tls.server_name, "inner");
}

TEST(TlsKeys, ValidationOffWithoutAllowInsecureNamesBothKeys) {
  auto errors = load_errors("providers:\n  p:\n    base_url: https://h/v1\n"
                            "    security: { certificateValidation: false }\n");
  ASSERT_EQ(errors.size(), 1u) << joined(errors);
  EXPECT_TRUE(contains(errors, "certificateValidation: false")) << joined(errors);
  EXPECT_TRUE(contains(errors, "allowInsecure: true")) << joined(errors);
  EXPECT_TRUE(contains(errors, "cfg.yaml:4")) << joined(errors);

  auto allowed = load_ok("providers:\n  p:\n    base_url: https://h/v1\n"
                         "    security: { certificateValidation: false, allowInsecure: true }\n");
  EXPECT_FALSE(allowed.providers.at(0).tls.verify);
  // allowInsecure alone does not turn validation off.
  auto only_allowed = load_ok("providers:\n  p:\n    base_url: https://h/v1\n    security: { allowInsecure: true }\n");
  EXPECT_TRUE(only_allowed.providers.at(0).tls.verify);
}

TEST(TlsKeys, BadValuesAndUnknownKeysAreReported) {
  auto errors = load_errors("providers:\n  p:\n    base_url: https://h/v1\n"
                            "    security: { tlsVersion: \"1.1\", certificateValidaton: true }\n"
                            "    tls: { client_cert: /c.pem, ca_fle: /x }\n");
  EXPECT_TRUE(contains(errors, "TLS 1.1 is not offered")) << joined(errors);
  EXPECT_TRUE(contains(errors, "did you mean \"certificateValidation\"")) << joined(errors);
  EXPECT_TRUE(contains(errors, "did you mean \"ca_file\"")) << joined(errors);
  EXPECT_TRUE(contains(errors, "client_cert and client_key go together")) << joined(errors);
  EXPECT_TRUE(contains(load_errors("providers:\n  p:\n    base_url: https://h/v1\n    security: { tlsVersion: \"2\" }\n"),
                       "unknown TLS version \"2\""));
}

TEST(HttpVersionKey, TwoOrOnePointOneInEitherShapeAndUnsetMeansTheMeasuredDefault) {
  auto config = load_ok("providers:\n  a:\n    base_url: https://a/v1\n    http_version: \"2\"\n"
                        "  b:\n    base_url: https://b/v1\n    httpVersion: HTTP/1.1\n"
                        "  c:\n    base_url: https://c/v1\n");
  EXPECT_EQ(config.providers.at(0).http_version, HttpVersion::http2);
  EXPECT_EQ(effective_http_version(config.providers.at(0)), HttpVersion::http2);
  EXPECT_EQ(config.providers.at(1).http_version, HttpVersion::http1_1);
  EXPECT_EQ(config.providers.at(2).http_version, HttpVersion::unset);
  EXPECT_EQ(effective_http_version(config.providers.at(2)), HttpVersion::http1_1);
}

TEST(HttpVersionKey, AnUnknownVersionOrHttp2OnACleartextUrlIsAnErrorAtTheKey) {
  auto errors = load_errors("providers:\n  p:\n    base_url: https://h/v1\n    http_version: \"3\"\n");
  ASSERT_EQ(errors.size(), 1u) << joined(errors);
  EXPECT_TRUE(contains(errors, "unknown HTTP version \"3\"; expected \"1.1\" or \"2\"")) << joined(errors);
  EXPECT_TRUE(contains(errors, "cfg.yaml:4")) << joined(errors);

  errors = load_errors("providers:\n  p:\n    base_url: http://h:8000/v1\n    http_version: \"2\"\n");
  ASSERT_EQ(errors.size(), 1u) << joined(errors);
  EXPECT_TRUE(contains(errors, "needs an https:// base_url")) << joined(errors);
  EXPECT_TRUE(contains(errors, "http://h:8000/v1")) << joined(errors);
}

}  // namespace
}  // namespace llmux
