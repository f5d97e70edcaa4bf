// A vertex-ai provider's keys as the seeds write them (camelCase) and in snake_case.
#include <gtest/gtest.h>

#include "config/vertex_keys.hpp"
#include "config_test_util.hpp"

namespace llmux {
namespace {

using config_test::load_errors;
using config_test::load_ok;

// The seed's provider, as written there (a JSON provider on its own).
constexpr const char* kSeed = R"seed({
  "id": "vertex_ai",
  "name": "Google Vertex AI", 
  "type": "vertex-ai",
  "projectId": "your-project-id",
  "region": "us-central1",
  "serviceAccountKey": "path/to/service-account.json",
  "models": [
    {
      "id": "gemini-1.5-pro-preview-0514",
      "name": "Gemini 1.5 Pro (Vertex)",
      "contextWindow": 2097152
    }
  ]
})seed";

TEST(VertexKeys, TheSeedLoadsAsWritten) {
  auto config = load_ok(kSeed);
  ASSERT_EQ(config.providers.size(), 1u);
  const auto& p = config.providers[0];
  EXPECT_EQ(p.type, "vertex-ai");
  EXPECT_EQ(p.vertex.project_id, "your-project-id");
  EXPECT_EQ(p.vertex.region, "us-central1");
  EXPECT_EQ(p.vertex.service_account_key, "path/to/service-account.json");  // read when the provider starts
  EXPECT_EQ(p.base_url, "https://us-central1-aiplatform.googleapis.com/v1");
  EXPECT_EQ(p.auth, AuthStyle::none);
  ASSERT_EQ(p.models.size(), 1u);
  EXPECT_EQ(p.models[0].context_window, 2097152);
}

TEST(VertexKeys, SnakeCaseGlobalRegionPublisherAndABaseUrlOverride) {
  auto config = load_ok(R"(
providers:
  vx:
    type: vertex-ai
    project_id: proj-1
    region: global
    service_account_key: /etc/llmux/sa.json
    publisher: Anthropic
  private:
    type: vertex-ai
    projectId: proj-1
    region: europe-west4
    serviceAccountKey: /etc/llmux/sa.json
    base_url: http://127.0.0.1:9000
)");
  ASSERT_EQ(config.providers.size(), 2u);
  EXPECT_EQ(config.providers[0].vertex.project_id, "proj-1");
  EXPECT_EQ(config.providers[0].vertex.publisher, "anthropic");
  EXPECT_EQ(config.providers[0].base_url, "https://aiplatform.googleapis.com/v1");
  EXPECT_EQ(config.providers[1].base_url, "http://127.0.0.1:9000/v1");
  EXPECT_EQ(config_detail::vertex_base_url("us-east5"), "https://us-east5-aiplatform.googleapis.com/v1");
}

TEST(VertexKeys, MissingAndMisplacedKeysAreNamed) {
  auto missing = load_errors("providers:\n  vx:\n    type: vertex-ai\n    region: us-central1\n");
  ASSERT_EQ(missing.size(), 2u);
  EXPECT_NE(missing[0].find("providers.vx.project_id: projectId is required"), std::string::npos) << missing[0];
  EXPECT_NE(missing[1].find("serviceAccountKey"), std::string::npos) << missing[1];
  auto misplaced = load_errors("providers:\n  o:\n    base_url: http://x\n    projectId: p\n");
  ASSERT_EQ(misplaced.size(), 1u);
  EXPECT_NE(misplaced[0].find("project_id is a vertex-ai setting"), std::string::npos) << misplaced[0];
  auto bad = load_errors(
      "providers:\n  vx:\n    type: vertex-ai\n    projectId: a/b\n    region: us central\n    serviceAccountKey: k\n"
      "    publisher: meta\n");
  // Each bad value is named where it stands (and the region gives no endpoint, so base_url is
  // reported missing too).
  std::string all = testing::PrintToString(bad);
  EXPECT_NE(all.find("providers.vx.projectId: projectId must be"), std::string::npos) << all;
  EXPECT_NE(all.find("providers.vx.region: region must be"), std::string::npos) << all;
  EXPECT_NE(all.find("providers.vx.publisher: publisher must be google or anthropic"), std::string::npos) << all;
  EXPECT_EQ(all.find("is required for type vertex-ai"), std::string::npos) << all;
}

}  // namespace
}  // namespace llmux
