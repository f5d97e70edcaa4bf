// Scalar helpers of the config loader: durations, ${VAR} expansion, base URLs, error formatting.
#include <cstdlib>

#include <gtest/gtest.h>

#include "config/config_internal.hpp"
#include "llmux/config.hpp"

namespace llmux {
namespace {

using std::chrono::milliseconds;

TEST(ConfigDurationTest, AcceptsUnitsAndBareMilliseconds) {
  struct Case { const char* text; int64_t ms; };
  for (auto [text, ms] : {Case{"500ms", 500}, Case{"60s", 60000}, Case{"2m", 120000},
                          Case{"1h", 3600000}, Case{"60000", 60000}, Case{"0", 0},
                          Case{"0s", 0}, Case{"720h", 720ll * 3600 * 1000}}) {
    auto d = parse_duration(text);
    ASSERT_TRUE(d) << text << ": " << d.error();
    EXPECT_EQ(d->count(), ms) << text;
  }
}

TEST(ConfigDurationTest, RejectsMalformedNegativeAndHugeValues) {
  for (const char* text : {"", "abc", "10 s", "1.5s", "5d", "s", "ms10", "10sec", "+5s", "1e3"}) {
    auto d = parse_duration(text);
    ASSERT_FALSE(d) << text;
    EXPECT_EQ(d.error(), "invalid duration \"" + std::string(text) +
                             "\" (use e.g. 500ms, 60s, 2m, 1h, or a number of milliseconds)");
  }
  EXPECT_EQ(parse_duration("-5s").error(), "must not be negative");
  EXPECT_EQ(parse_duration("721h").error(), "duration is too long (max 720h)");
  EXPECT_FALSE(parse_duration("99999999999999999999999"));
}

TEST(ConfigByteSizeTest, AcceptsBytesAndBinaryAndDecimalUnits) {
  using config_detail::parse_byte_size;
  EXPECT_EQ(*parse_byte_size("1048576"), 1048576u);
  EXPECT_EQ(*parse_byte_size("10MiB"), 10u << 20);
  EXPECT_EQ(*parse_byte_size("512KiB"), 512u << 10);
  EXPECT_EQ(*parse_byte_size("1MB"), 1000000u);
  EXPECT_EQ(*parse_byte_size("2GiB"), 2ull << 30);
  EXPECT_EQ(*parse_byte_size("3kb"), 3000u);
  EXPECT_EQ(*parse_byte_size("10 MiB"), 10u << 20);
  EXPECT_EQ(*parse_byte_size("100B"), 100u);
  for (const char* bad : {"", "MiB", "10XB", "-1", "1.5MiB", "99999999999GiB"})
    EXPECT_FALSE(parse_byte_size(bad)) << bad;
}

class ConfigEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("LLMUX_CFG_T_KEY", "sk-123", 1);
    setenv("LLMUX_CFG_T_EMPTY", "", 1);
    unsetenv("LLMUX_CFG_T_UNSET");
  }
  void TearDown() override {
    unsetenv("LLMUX_CFG_T_KEY");
    unsetenv("LLMUX_CFG_T_EMPTY");
  }
};

TEST_F(ConfigEnvTest, ExpandsVariablesAnywhereInTheText) {
  EXPECT_EQ(*expand_env("${LLMUX_CFG_T_KEY}"), "sk-123");
  EXPECT_EQ(*expand_env("Bearer ${LLMUX_CFG_T_KEY}!"), "Bearer sk-123!");
  EXPECT_EQ(*expand_env("${LLMUX_CFG_T_KEY}${LLMUX_CFG_T_KEY}"), "sk-123sk-123");
  EXPECT_EQ(*expand_env("no variables"), "no variables");
  EXPECT_EQ(*expand_env("${LLMUX_CFG_T_EMPTY}"), "");  // set but empty is not missing
}

TEST_F(ConfigEnvTest, DefaultsApplyWhenUnsetOrEmpty) {
  EXPECT_EQ(*expand_env("${LLMUX_CFG_T_UNSET:-fallback}"), "fallback");
  EXPECT_EQ(*expand_env("${LLMUX_CFG_T_EMPTY:-fallback}"), "fallback");
  EXPECT_EQ(*expand_env("${LLMUX_CFG_T_KEY:-fallback}"), "sk-123");
  EXPECT_EQ(*expand_env("${LLMUX_CFG_T_UNSET:-}"), "");
  EXPECT_EQ(*expand_env("http://${LLMUX_CFG_T_UNSET:-localhost:8080}/v1"),
            "http://localhost:8080/v1");
}

TEST_F(ConfigEnvTest, DollarDollarBraceIsALiteral) {
  EXPECT_EQ(*expand_env("$${LLMUX_CFG_T_KEY}"), "${LLMUX_CFG_T_KEY}");
  EXPECT_EQ(*expand_env("a$${b}c"), "a${b}c");
  EXPECT_EQ(*expand_env("$$ and $x and {api_key}"), "$$ and $x and {api_key}");
  EXPECT_EQ(*expand_env("$$${LLMUX_CFG_T_KEY}"), "$${LLMUX_CFG_T_KEY}");
}

TEST_F(ConfigEnvTest, MissingVariableIsAnErrorNamingIt) {
  auto r = expand_env("key-${LLMUX_CFG_T_UNSET}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(),
            "environment variable LLMUX_CFG_T_UNSET is not set (use ${LLMUX_CFG_T_UNSET:-default} "
            "to give a default)");
}

TEST_F(ConfigEnvTest, MalformedReferencesAreErrorsThatDoNotEchoTheText) {
  EXPECT_EQ(expand_env("sk-${abc").error(),
            "unterminated \"${\" (write \"$${\" for a literal \"${\")");
  for (const char* bad : {"${}", "${1A}", "${SECRET VALUE}", "${A-B}"}) {
    auto r = expand_env(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().find("SECRET"), std::string::npos);
    EXPECT_EQ(r.error().rfind("invalid variable reference", 0), 0u) << r.error();
  }
  EXPECT_FALSE(expand_env("${A:-${B}}"));
}

struct UrlCase {
  const char* input;
  const char* expected;
};

TEST(ConfigBaseUrlTest, NormalisesTheAcceptedForms) {
  for (auto [input, expected] : {
           UrlCase{"https://api.together.xyz/v1", "https://api.together.xyz/v1"},
           UrlCase{"https://api.together.xyz/v1/", "https://api.together.xyz/v1"},
           UrlCase{"https://api.together.xyz", "https://api.together.xyz/v1"},
           UrlCase{"https://api.together.xyz/", "https://api.together.xyz/v1"},
           UrlCase{"https://api.together.xyz//", "https://api.together.xyz/v1"},
           UrlCase{"http://localhost:11434/v1", "http://localhost:11434/v1"},
           UrlCase{"http://localhost:11434", "http://localhost:11434/v1"},
           UrlCase{"http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1"},
           UrlCase{"http://[::1]:8080", "http://[::1]:8080/v1"},
           UrlCase{"HTTPS://Example.com/api/v1", "https://Example.com/api/v1"},
           UrlCase{"https://generativelanguage.googleapis.com/v1beta/openai/",
                   "https://generativelanguage.googleapis.com/v1beta/openai"},
           UrlCase{"https://api.groq.com/openai/v1", "https://api.groq.com/openai/v1"},
           UrlCase{"https://x.openai.azure.com/openai", "https://x.openai.azure.com/openai"},
       }) {
    auto url = normalize_base_url(input);
    ASSERT_TRUE(url) << input << ": " << url.error();
    EXPECT_EQ(*url, expected) << input;
    EXPECT_EQ(*normalize_base_url(*url), *url) << "not idempotent: " << input;
  }
}

TEST(ConfigBaseUrlTest, RejectsInvalidUrlsWithClearMessages) {
  for (auto [input, message] : {
           UrlCase{"", "URL is empty"},
           UrlCase{"api.together.xyz/v1", "URL must start with http:// or https://"},
           UrlCase{"ftp://host/v1", "unsupported URL scheme \"ftp\" (use http:// or https://)"},
           UrlCase{"https://", "URL has no host"},
           UrlCase{"https:///v1", "URL has no host"},
           UrlCase{"http://:8080/v1", "URL has no host"},
           UrlCase{"https://api.x.com /v1", "URL must not contain spaces"},
           UrlCase{"https://api.x.com/v1\r\nX-Evil: 1", "URL must not contain line breaks"},
           UrlCase{"https://api.x.com/v1?key=1", "URL must not contain a query string (\"?...\")"},
           UrlCase{"https://api.x.com/v1#frag", "URL must not contain a fragment (\"#...\")"},
           UrlCase{"https://user:pw@api.x.com/v1",
                   "URL must not contain credentials (user@host); use api_key"},
           UrlCase{"http://localhost:0/v1", "URL has an invalid port (expected 1-65535)"},
           UrlCase{"http://localhost:99999", "URL has an invalid port (expected 1-65535)"},
           UrlCase{"http://localhost:80a", "URL has an invalid port (expected 1-65535)"},
           UrlCase{"http://localhost:", "URL has an invalid port (expected 1-65535)"},
           UrlCase{"http://local_host$/v1", "URL host contains an invalid character"},
           UrlCase{"http://[zz]/v1", "URL has an invalid IPv6 host"},
       }) {
    auto url = normalize_base_url(input);
    ASSERT_FALSE(url) << input << " -> " << *url;
    EXPECT_EQ(url.error(), message) << input;
  }
}

TEST(ConfigErrorFormatTest, FormatsFileLineColumnPathAndMessage) {
  EXPECT_EQ(format_config_error({"llmux.yaml", 3, 14, "providers.together.timeout", "bad"}),
            "llmux.yaml:3:14: providers.together.timeout: bad");
  EXPECT_EQ(format_config_error({"llmux.yaml", 3, 0, "server.port", "bad"}),
            "llmux.yaml:3: server.port: bad");
  EXPECT_EQ(format_config_error({"llmux.yaml", 0, 0, "", "cannot read"}),
            "llmux.yaml: cannot read");
  EXPECT_EQ(format_config_error({"", 0, 0, "providers[0].id", "a provider needs an id"}),
            "<config>: providers[0].id: a provider needs an id");
}

TEST(ConfigProviderTypeTest, AliasesNormaliseToTheirType) {
  using config_detail::normalize_provider_type;
  for (const char* type : {"openai-compatible", "openai_compatible", "OpenAI", "custom",
                           "vllm", "lmstudio", "together", "groq", "openrouter", "mistral",
                           "deepseek", "fireworks"})
    EXPECT_EQ(*normalize_provider_type(type), "openai-compatible") << type;
  for (const char* type : {"anthropic", "Claude"}) EXPECT_EQ(*normalize_provider_type(type), "anthropic") << type;
  // Ollama's native API is its own adapter; its /v1 API is reached as openai-compatible.
  EXPECT_EQ(*normalize_provider_type("Ollama"), "ollama");
  auto bad = normalize_provider_type("bedrock");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().rfind("unknown provider type \"bedrock\"; known types: openai-", 0), 0u)
      << bad.error();
  EXPECT_NE(bad.error().find("fireworks"), std::string::npos);
  EXPECT_NE(bad.error().find("anthropic"), std::string::npos);
}

TEST(ConfigEditDistanceTest, CountsTranspositionsAsOneEdit) {
  using config_detail::edit_distance;
  EXPECT_EQ(edit_distance("timeout", "timeout"), 0u);
  EXPECT_EQ(edit_distance("timout", "timeout"), 1u);
  EXPECT_EQ(edit_distance("prot", "port"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

}  // namespace
}  // namespace llmux
