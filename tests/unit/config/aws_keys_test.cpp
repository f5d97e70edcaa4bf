// An aws-bedrock provider's keys (src/config/aws_keys.cpp): the seed's block loads as written,
// snake_case too; the regional runtime URL is the default base_url; misplaced keys are named.
#include <gtest/gtest.h>

#include <cstdlib>

#include "config_test_util.hpp"

namespace llmux {
namespace {

using config_test::load_errors;
using config_test::load_ok;

TEST(AwsKeys, TheSeedsBedrockBlockLoadsAsWritten) {
  // /work/shared/seeds/000_*: "AWS Bedrock", verbatim.
  auto config = load_ok(R"json({
  "id": "aws_bedrock",
  "name": "AWS Bedrock",
  "type": "aws-bedrock",
  "region": "us-east-1",
  "accessKeyId": "your-access-key",
  "secretAccessKey": "your-secret-key",
  "models": [
    {
      "id": "anthropic.claude-opus-4-2025-preview",
      "name": "Claude 3 Sonnet (Bedrock)",
      "contextWindow": 200000
    }
  ]
})json");
  ASSERT_EQ(config.providers.size(), 1u);
  const auto& p = config.providers[0];
  EXPECT_EQ(p.type, "aws-bedrock");
  EXPECT_EQ(p.aws.region, "us-east-1");
  EXPECT_EQ(p.aws.access_key_id, "your-access-key");
  EXPECT_EQ(p.aws.secret_access_key.reveal(), "your-secret-key");
  EXPECT_TRUE(p.aws.session_token.empty());
  EXPECT_EQ(p.base_url, "https://bedrock-runtime.us-east-1.amazonaws.com");
  ASSERT_EQ(p.models.size(), 1u);
  EXPECT_EQ(p.models[0].id, "anthropic.claude-opus-4-2025-preview");
}

TEST(AwsKeys, SnakeCaseKeysSessionTokenProfileAndAnOwnBaseUrl) {
  auto config = load_ok(R"(providers:
  br:
    type: aws-bedrock
    base_url: http://127.0.0.1:9/bedrock
    access_key_id: AKID
    secret_access_key: SECRET
    session_token: TOKEN
    profile: work
)");
  ASSERT_EQ(config.providers.size(), 1u);
  const auto& aws = config.providers[0].aws;
  EXPECT_EQ(aws.access_key_id, "AKID");
  EXPECT_EQ(aws.session_token.reveal(), "TOKEN");
  EXPECT_EQ(aws.profile, "work");
  EXPECT_EQ(config.providers[0].base_url, "http://127.0.0.1:9/bedrock");
  if (!std::getenv("AWS_REGION") && !std::getenv("AWS_DEFAULT_REGION")) EXPECT_EQ(aws.region, "us-east-1");
}

TEST(AwsKeys, MisplacedOrBadKeysAreNamed) {
  auto errors = load_errors(R"(providers:
  o:
    base_url: http://h
    secretAccessKey: x
  b:
    type: aws-bedrock
    base_url: http://h
    region: US East
  c:
    type: aws-bedrock
    accessKeyId: AKID
)");
  bool region_from_env = std::getenv("AWS_REGION") || std::getenv("AWS_DEFAULT_REGION");
  ASSERT_EQ(errors.size(), region_from_env ? 2u : 3u) << errors[0];
  EXPECT_NE(errors[0].find("providers.o.secretAccessKey: secret_access_key is an aws-bedrock setting"), std::string::npos)
      << errors[0];
  EXPECT_NE(errors[1].find("providers.b.region: expected an AWS region name such as us-east-1"), std::string::npos)
      << errors[1];
  if (!region_from_env)
    EXPECT_NE(errors[2].find("providers.c: an aws-bedrock provider needs a region"), std::string::npos) << errors[2];
}

}  // namespace
}  // namespace llmux
