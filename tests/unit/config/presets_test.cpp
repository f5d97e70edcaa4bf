#include "config/presets.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace llmux {
namespace {

GatewayConfig load(const std::string& yaml) {
  auto config = load_config_text(yaml, "presets.yaml");
  if (!config) {
    ADD_FAILURE() << format_config_error(config.error().front());
    return {};
  }
  return *config;
}

TEST(ProviderPresets, ATypeNamingAServiceNeedsNoBaseUrlAndReadsItsKeyVariable) {
  ::setenv("GROQ_API_KEY", "gsk-from-env", 1);
  auto config = load("providers:\n  fast:\n    type: groq\n    models: [llama-3.1-8b-instant]\n");
  ::unsetenv("GROQ_API_KEY");
  ASSERT_EQ(config.providers.size(), 1u);
  const auto& p = config.providers[0];
  EXPECT_EQ(p.type, "openai-compatible");
  EXPECT_EQ(p.base_url, "https://api.groq.com/openai/v1");
  EXPECT_EQ(p.api_key.reveal(), "gsk-from-env");
  EXPECT_EQ(p.auth, AuthStyle::bearer);
}

TEST(ProviderPresets, WhatTheProviderWritesWins) {
  ::setenv("TOGETHER_API_KEY", "env-key", 1);
  auto config = load("providers:\n  t:\n    type: together\n    base_url: http://127.0.0.1:9/v1\n    api_key: own-key\n");
  ::unsetenv("TOGETHER_API_KEY");
  ASSERT_EQ(config.providers.size(), 1u);
  EXPECT_EQ(config.providers[0].base_url, "http://127.0.0.1:9/v1");
  EXPECT_EQ(config.providers[0].api_key.reveal(), "own-key");
}

TEST(ProviderPresets, LocalServersGetTheirDefaultPortAndNoKey) {
  struct Case {
    const char* type;
    const char* url;
  };
  for (auto c : {Case{"vllm", "http://localhost:8000/v1"}, Case{"lm-studio", "http://localhost:1234/v1"},
                 Case{"tgi", "http://localhost:8080/v1"}, Case{"jan", "http://localhost:1337/v1"},
                 Case{"llamafile", "http://localhost:8080/v1"}, Case{"localai", "http://localhost:8080/v1"}}) {
    auto config = load(std::string("providers:\n  local:\n    type: ") + c.type + "\n");
    ASSERT_EQ(config.providers.size(), 1u) << c.type;
    EXPECT_EQ(config.providers[0].base_url, c.url) << c.type;
    EXPECT_TRUE(config.providers[0].api_key.empty()) << c.type;
    EXPECT_EQ(config.providers[0].auth, AuthStyle::none) << c.type;
  }
}

TEST(ProviderPresets, EveryPresetIsAnOpenAICompatibleTypeWithAValidUrl) {
  for (const auto& preset : config_detail::provider_presets()) {
    auto config = load("providers:\n  p:\n    type: " + std::string(preset.name) + "\n");
    ASSERT_EQ(config.providers.size(), 1u) << preset.name;
    EXPECT_EQ(config.providers[0].type, "openai-compatible") << preset.name;
    EXPECT_TRUE(validate_config(config).empty()) << preset.name;
  }
}

TEST(ProviderPresets, OpenAICompatibleWithoutAUrlIsStillAnError) {
  auto config = load_config_text("providers:\n  p:\n    type: openai-compatible\n", "presets.yaml");
  auto errors = config ? validate_config(*config) : config.error();
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(format_config_error(errors.front()).find("base_url is required"), std::string::npos);
}

}  // namespace
}  // namespace llmux
