// server.tls: the keys (snake_case, camelCase, aliases), min_version's spellings, and the errors.
#include <gtest/gtest.h>

#include "config_test_util.hpp"
#include "llmux/config.hpp"

namespace llmux::config_test {
namespace {

TEST(ServerTlsConfig, OffUnlessWritten) {
  auto config = load_config_text("server: { port: 4000 }\n", "cfg.yaml");
  ASSERT_TRUE(config);
  EXPECT_FALSE(config->server.tls.enabled());
}

TEST(ServerTlsConfig, ReadsCertKeyAndMinVersion) {
  auto config = load_config_text("server:\n  tls: { cert: /c.pem, key: /k.pem, min_version: \"1.3\" }\n", "cfg.yaml");
  ASSERT_TRUE(config) << joined(config.error());
  EXPECT_EQ(config->server.tls.cert_file, "/c.pem");
  EXPECT_EQ(config->server.tls.key_file, "/k.pem");
  EXPECT_EQ(config->server.tls.min_version, ServerTlsConfig::MinVersion::tls1_3);
}

TEST(ServerTlsConfig, AcceptsCamelCaseAliasesAndTlsPrefixedVersions) {
  auto config = load_config_text("server:\n  tls: { certFile: /c.pem, privateKey: /k.pem, minVersion: TLSv1.2 }\n", "cfg.yaml");
  ASSERT_TRUE(config) << joined(config.error());
  EXPECT_EQ(config->server.tls.cert_file, "/c.pem");
  EXPECT_EQ(config->server.tls.key_file, "/k.pem");
  EXPECT_EQ(config->server.tls.min_version, ServerTlsConfig::MinVersion::tls1_2);
}

TEST(ServerTlsConfig, ReportsABadVersionAHalfPairAndUnknownKeys) {
  auto version = load_errors("server:\n  tls: { cert: /c.pem, key: /k.pem, min_version: \"1.1\" }\n");
  ASSERT_EQ(version.size(), 1u);
  EXPECT_NE(version[0].find("server.tls.min_version: expected \"1.2\" or \"1.3\", got \"1.1\""), std::string::npos)
      << version[0];
  auto half = load_errors("server:\n  tls: { cert: /c.pem }\n");
  ASSERT_EQ(half.size(), 1u);
  EXPECT_NE(half[0].find("needs its private key"), std::string::npos) << half[0];
  auto unknown = load_errors("server:\n  tls: { cert: /c.pem, key: /k.pem, ciphers: x }\n");
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_NE(unknown[0].find("server.tls.ciphers"), std::string::npos) << unknown[0];
}

}  // namespace
}  // namespace llmux::config_test
