// The embeddable library (include/llmux/client.hpp) against the real fake provider.
#include "llmux/client.hpp"

#include <gtest/gtest.h>

#include "harness.hpp"

namespace llmux::test {
namespace {

ProviderConfig fake_provider_config(const FakeProvider& fake, const std::string& id = "fake") {
  ProviderConfig p;
  p.id = id;
  p.base_url = "http://127.0.0.1:" + std::to_string(fake.port);  // no /v1: normalised by add_provider
  p.api_key = Secret("sk-lib");
  p.models.push_back({.id = "fake-model", .context_window = 8192});
  p.default_model = "fake-model";
  p.timeout = std::chrono::milliseconds(2000);
  return p;
}

TEST(Client, ChatsPlainAndStreamingListsModelsChecksHealth) {
  auto fake = start_fake();
  Client client;
  ASSERT_TRUE(client.add_provider(fake_provider_config(fake)));
  ASSERT_TRUE(client.set_default_provider("fake"));

  ChatRequest request;
  request.messages = {{"user", "library call"}};
  auto reply = client.chat(request);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->provider, "fake");
  EXPECT_EQ(reply->model, "fake-model");
  EXPECT_NE(reply->content.find("library call"), std::string::npos) << reply->content;
  EXPECT_EQ(reply->finish_reason, "stop");
  EXPECT_GT(reply->usage.total_tokens, 0);

  std::vector<std::string> pieces;
  auto streamed = client.chat_stream(request, [&](std::string_view p) { pieces.emplace_back(p); });
  ASSERT_TRUE(streamed) << streamed.error().message;
  ASSERT_GE(pieces.size(), 3u);
  std::string joined;
  for (const auto& p : pieces) joined += p;
  EXPECT_EQ(joined, streamed->content);
  EXPECT_EQ(joined, reply->content);
  EXPECT_GT(streamed->usage.total_tokens, 0);

  auto models = client.list_models("fake");
  ASSERT_TRUE(models) << models.error().message;
  bool configured_and_live = false, live_only = false;
  for (const auto& m : *models) {
    if (m.id == "fake-model") configured_and_live = m.configured && m.live && m.context_window == 8192;
    if (m.id == "fake-model-2") live_only = !m.configured && m.live;
  }
  EXPECT_TRUE(configured_and_live);
  EXPECT_TRUE(live_only);

  auto health = client.check_health("fake");
  EXPECT_TRUE(health.healthy) << health.message;
  EXPECT_EQ(health.http_status, 200);
  client.close();
  client.close();  // idempotent
}

// The same calls against the fake's Anthropic API: the library reads Anthropic bodies and streams
// through the provider's decoder.
TEST(Client, ChatsWithAnAnthropicProvider) {
  auto fake = start_fake({"--require-key", "sk-ant-lib"});
  Client client;
  ProviderConfig p = fake_provider_config(fake, "claude");
  p.type = "anthropic";
  p.api_key = Secret("sk-ant-lib");
  p.auth = AuthStyle::header;
  p.auth_header = "x-api-key";
  ASSERT_TRUE(client.add_provider(p));

  ChatRequest request;
  request.model = "claude/fake-model";
  request.messages = {{"system", "be brief"}, {"user", "library call to claude"}};
  auto reply = client.chat(request);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->provider, "claude");
  EXPECT_EQ(reply->model, "fake-model");
  EXPECT_NE(reply->content.find("library call to claude"), std::string::npos) << reply->content;
  EXPECT_EQ(reply->finish_reason, "stop");
  EXPECT_GT(reply->usage.total_tokens, 0);

  std::string joined;
  size_t pieces = 0;
  auto streamed = client.chat_stream(request, [&](std::string_view piece) {
    joined += piece;
    ++pieces;
  });
  ASSERT_TRUE(streamed) << streamed.error().message;
  EXPECT_GE(pieces, 3u);
  EXPECT_EQ(joined, reply->content);
  EXPECT_EQ(streamed->content, reply->content);
  EXPECT_EQ(streamed->usage.total_tokens, reply->usage.total_tokens);

  auto health = client.check_health("claude");
  EXPECT_TRUE(health.healthy) << health.message;
}

TEST(Client, ErrorsAreValues) {
  auto fake = start_fake({"--require-key", "right-key"});
  Client client;
  auto bad_url = fake_provider_config(fake, "broken");
  bad_url.base_url = "ftp://nowhere";
  auto added = client.add_provider(bad_url);
  ASSERT_FALSE(added);
  EXPECT_NE(added.error().message.find("broken"), std::string::npos);

  ASSERT_TRUE(client.add_provider(fake_provider_config(fake)));  // sends sk-lib: wrong key
  ChatRequest request;
  request.model = "fake/fake-model";
  request.messages = {{"user", "x"}};
  auto denied = client.chat(request);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().http_status, 401);
  EXPECT_EQ(denied.error().message.find("sk-lib"), std::string::npos);

  request.model = "fake/other";
  auto unknown = client.chat(request);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().http_status, 404);

  auto health = client.check_health("fake");
  EXPECT_FALSE(health.healthy);
  EXPECT_EQ(health.http_status, 401);
  EXPECT_FALSE(client.check_health("missing").healthy);
}

}  // namespace
}  // namespace llmux::test
