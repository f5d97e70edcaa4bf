// The effective config: config file + provider store + vault keys, and how they combine.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "store/sources.hpp"
#include "store/vault.hpp"

namespace llmux::store {
namespace {

class SourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/llmux-sources-XXXXXX";
    base_ = ::mkdtemp(path);
    paths_ = {base_ + "/config/llmux", base_ + "/state/llmux"};
    std::filesystem::create_directories(paths_.config_dir);
    ::setenv("LLMUX_MASTER_KEY", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    for (const char* var : {"OPENAI_API_KEY", "TOGETHER_API_KEY", "GROQ_API_KEY", "MISTRAL_API_KEY", "OPENROUTER_API_KEY",
                            "DEEPSEEK_API_KEY", "FIREWORKS_API_KEY", "XAI_API_KEY", "PERPLEXITY_API_KEY"})
      ::unsetenv(var);
  }
  void TearDown() override {
    ::unsetenv("LLMUX_MASTER_KEY");
    ::unsetenv("GROQ_API_KEY");
    std::filesystem::remove_all(base_);
  }
  void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  std::string base_;
  Paths paths_;
};

TEST_F(SourcesTest, StoreProvidersComeAfterTheConfigsAndOverrideDiscoveredOnes) {
  ::setenv("GROQ_API_KEY", "gsk-env-0000000000", 1);
  write(paths_.providers(), "providers:\n  groq:\n    base_url: http://127.0.0.1:9\n  mine:\n    base_url: http://127.0.0.1:10\n");
  SourceOptions options;
  auto a = assemble(paths_, options);
  ASSERT_TRUE(a) << a.error().messages[0];
  ASSERT_EQ(a->ids(), (std::vector<std::string>{"groq", "mine"}));
  EXPECT_EQ(a->find("groq")->base_url, "http://127.0.0.1:9/v1");
  EXPECT_EQ(a->origins.at("groq").kind, "store");

  write(paths_.config_dir + "/config.yaml", "providers:\n  first:\n    base_url: http://127.0.0.1:11\n");
  auto b = assemble(paths_, options);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->ids(), (std::vector<std::string>{"first", "groq", "mine"})) << "no discovery with a config file";
  EXPECT_EQ(b->describe(), paths_.config_dir + "/config.yaml + " + paths_.providers());
}

TEST_F(SourcesTest, VaultKeysFillProvidersWithoutOneAndKnownServices) {
  write(paths_.providers(),
        "providers:\n"
        "  keyed:\n    base_url: http://127.0.0.1:9\n    auth_type: api-key\n    auth_header: X-Key\n"
        "  open:\n    base_url: http://127.0.0.1:9\n    auth_type: none\n");
  {
    Vault v(paths_);
    ASSERT_TRUE(v.load());
    ASSERT_TRUE(v.put("keyed", Secret("key-keyed-123456")));
    ASSERT_TRUE(v.put("open", Secret("key-open-123456")));
    ASSERT_TRUE(v.put("openai", Secret("sk-openai-123456")));
  }
  auto a = assemble(paths_, SourceOptions{});
  ASSERT_TRUE(a) << a.error().messages[0];
  const auto* keyed = a->find("keyed");
  ASSERT_TRUE(keyed);
  EXPECT_EQ(keyed->api_key.reveal(), "key-keyed-123456");
  EXPECT_EQ(keyed->auth, AuthStyle::header);
  EXPECT_EQ(keyed->auth_header, "X-Key");
  EXPECT_EQ(a->origins.at("keyed").key_source, "vault");
  EXPECT_TRUE(a->find("open")->api_key.empty()) << "auth_type: none takes no key";
  const auto* openai = a->find("openai");
  ASSERT_TRUE(openai) << "a stored key for a known service registers it";
  EXPECT_EQ(openai->base_url, "https://api.openai.com/v1");
  EXPECT_EQ(a->origins.at("openai").kind, "vault");
}

}  // namespace
}  // namespace llmux::store
