// `drop_params:` on a provider: the request fields its translating adapter leaves out instead of
// refusing, in both shapes of the providers section, each name checked where it is written.
#include <gtest/gtest.h>

#include "llmux/config.hpp"

namespace llmux {
namespace {

using Names = std::vector<std::string>;

TEST(DropParamsKey, IsReadInTheMapShapeAndTheListShapeInEitherSpelling) {
  auto map = load_config_text(R"(
providers:
  claude:
    type: anthropic
    api_key: sk-ant-000001
    drop_params: [metadata, store]
  gem:
    type: gemini
    api_key: k-000001
)", "c.yaml");
  ASSERT_TRUE(map) << format_config_error(map.error().front());
  EXPECT_EQ(map->providers[0].drop_params, (Names{"metadata", "store"}));
  EXPECT_TRUE(map->providers[1].drop_params.empty());
  auto list = load_config_text(
      "providers:\n  - {id: co, type: cohere, api_key: k-000001, dropParams: [user, service_tier]}\n", "c.yaml");
  ASSERT_TRUE(list) << format_config_error(list.error().front());
  EXPECT_EQ(list->providers[0].drop_params, (Names{"user", "service_tier"}));
}

TEST(DropParamsKey, AnUnknownFieldIsAnErrorAtItsListItemNamingTheKnownOnes) {
  auto config = load_config_text(R"(providers:
  gem:
    type: gemini
    api_key: k-000001
    drop_params: [user, usr]
)", "c.yaml");
  ASSERT_FALSE(config);
  ASSERT_EQ(config.error().size(), 1u);
  std::string message = format_config_error(config.error().front());
  EXPECT_NE(message.find("c.yaml:5:25:"), std::string::npos) << message;
  EXPECT_NE(message.find("\"usr\" is not a request field drop_params can drop"), std::string::npos) << message;
  EXPECT_NE(message.find("safety_identifier"), std::string::npos) << message;
}

TEST(DropParamsKey, TakesAListAndIsRefusedOnPassThroughProviders) {
  auto scalar = load_config_text("providers:\n  - {id: g, type: gemini, api_key: k-000001, drop_params: user}\n", "c.yaml");
  ASSERT_FALSE(scalar);
  EXPECT_NE(format_config_error(scalar.error().front()).find("expected a list of request fields"), std::string::npos)
      << format_config_error(scalar.error().front());
  auto passthrough = load_config_text(
      "providers:\n  - {id: v, base_url: \"http://127.0.0.1:8000/v1\", drop_params: [user]}\n", "c.yaml");
  ASSERT_FALSE(passthrough);
  EXPECT_NE(format_config_error(passthrough.error().front()).find("drop_params is for translating adapters"),
            std::string::npos)
      << format_config_error(passthrough.error().front());
}

}  // namespace
}  // namespace llmux
