// admin_key / adminKey in the config and LLMUX_ADMIN_KEY over it.
#include <gtest/gtest.h>

#include <cstdlib>

#include "llmux/config.hpp"

namespace llmux {
namespace {

TEST(AdminKeyConfig, BothSpellingsAndVariablesAreRead) {
  for (const char* text : {"admin_key: adm-key-0001\n", "adminKey: adm-key-0001\n", "admin_key: ${TEST_ADMIN_KEY_VAR}\n"}) {
    ::setenv("TEST_ADMIN_KEY_VAR", "adm-key-0001", 1);
    auto config = load_config_text(text, "c.yaml");
    ASSERT_TRUE(config) << text << format_config_error(config.error().front());
    ASSERT_TRUE(config->admin_auth.key) << text;
    EXPECT_EQ(config->admin_auth.key->reveal(), "adm-key-0001");
    EXPECT_EQ(config->admin_auth.key_source, "admin_key");
  }
  ::unsetenv("TEST_ADMIN_KEY_VAR");
}

TEST(AdminKeyConfig, AnEmptyValueIsNoKeyAndASpaceIsAnError) {
  auto empty = load_config_text("admin_key: ${UNSET_ADMIN_KEY_VAR:-}\n", "c.yaml");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->admin_auth.key);
  auto spaced = load_config_text("admin_key: \"two words\"\n", "c.yaml");
  ASSERT_FALSE(spaced);
  EXPECT_NE(format_config_error(spaced.error().front()).find("admin_key: must not contain spaces"), std::string::npos)
      << format_config_error(spaced.error().front());
}

TEST(AdminKeyConfig, TheEnvironmentWins) {
  auto config = load_config_text("admin_key: from-the-file-0001\n", "c.yaml");
  ASSERT_TRUE(config);
  ::setenv("LLMUX_ADMIN_KEY", "from-the-env-0002", 1);
  apply_admin_key_env(*config);
  ::unsetenv("LLMUX_ADMIN_KEY");
  EXPECT_EQ(config->admin_auth.key->reveal(), "from-the-env-0002");
  EXPECT_EQ(config->admin_auth.key_source, "LLMUX_ADMIN_KEY");
  GatewayConfig untouched;
  apply_admin_key_env(untouched);  // unset: nothing changes
  EXPECT_FALSE(untouched.admin_auth.key);
}

}  // namespace
}  // namespace llmux
