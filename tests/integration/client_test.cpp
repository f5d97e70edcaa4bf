// The embeddable library (include/llmux/client.hpp) against the real fake provider.
#include "llmux/client.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

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

ProviderConfig anthropic_config(const FakeProvider& fake, const std::string& id, const std::string& key) {
  ProviderConfig p = fake_provider_config(fake, id);
  p.type = "anthropic";
  p.api_key = Secret(key);
  p.auth = AuthStyle::header;
  p.auth_header = "x-api-key";
  return p;
}

// The fake serves Gemini under /v1beta beside OpenAI's /v1.
ProviderConfig gemini_config(const FakeProvider& fake, const std::string& id, const std::string& key) {
  ProviderConfig p = fake_provider_config(fake, id);
  p.type = "gemini";
  p.base_url = "http://127.0.0.1:" + std::to_string(fake.port) + "/v1beta";
  p.api_key = Secret(key);
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
  ProviderConfig p = anthropic_config(fake, "claude", "sk-ant-lib");
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

// --- tools, images and typed stream events, through a pass-through and translated adapters ----------

namespace bjson = boost::json;

constexpr const char* kPixel =
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

ChatRequest weather_request(const std::string& model) {
  ChatRequest request;
  request.model = model;
  ChatMessage user;
  user.role = "user";
  user.parts = {ContentPart::of_text("What is the weather where this photo was taken?"), ContentPart::image(kPixel)};
  request.messages = {user};
  request.tools = {{"get_weather", "The weather in a city now",
                    R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})"}};
  request.tool_choice = "auto";
  return request;
}

// The last request the fake received whose target starts with `prefix`, its body parsed.
bjson::object last_body_sent(const FakeProvider& fake, const std::string& prefix) {
  auto log = bjson::parse(http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests").body).as_array();
  for (auto it = log.rbegin(); it != log.rend(); ++it)
    if (std::string_view(it->at("target").as_string()).starts_with(prefix))
      return bjson::parse(it->at("body").as_string()).as_object();
  ADD_FAILURE() << "no request to " << prefix;
  return {};
}

struct Seen {
  std::string text, arguments, finish;
  std::vector<std::pair<std::string, std::string>> calls;  // id, name
  std::vector<StreamEvent::Type> types;
  TokenUsage usage;
};

Seen collect(Client& client, const ChatRequest& request, Expected<ChatResponse, Error>& result) {
  Seen seen;
  result = client.chat_stream(request, [&](const StreamEvent& e) {
    seen.types.push_back(e.type);
    switch (e.type) {
      case StreamEvent::Type::text: seen.text += e.text; break;
      case StreamEvent::Type::reasoning: break;
      case StreamEvent::Type::tool_call: seen.calls.emplace_back(e.tool_call_id, e.tool_name); break;
      case StreamEvent::Type::tool_arguments:
        EXPECT_EQ(e.tool_index, 0);
        seen.arguments += e.text;
        break;
      case StreamEvent::Type::usage: seen.usage = e.usage; break;
      case StreamEvent::Type::finish: seen.finish = e.text; break;
    }
  });
  return seen;
}

// One adapter through the library: a tool call plain and streamed (typed events that add up to
// the assembled response), then the tool's result answered in text. `check_sent` looks at the
// upstream body of the first request (the image and the tool, in the provider's own shape).
void expect_tools_images_and_events(Client& client, const FakeProvider& fake, const std::string& model,
                                    const std::string& provider, const std::string& target_prefix,
                                    const std::function<void(const bjson::object&)>& check_sent) {
  SCOPED_TRACE(provider);
  auto request = weather_request(model);
  auto reply = client.chat(request);
  ASSERT_TRUE(reply) << reply.error().message;
  check_sent(last_body_sent(fake, target_prefix));
  EXPECT_EQ(reply->provider, provider);
  EXPECT_GT(reply->latency_ms, 0.0);
  EXPECT_EQ(reply->finish_reason, "tool_calls");
  ASSERT_EQ(reply->tool_calls.size(), 1u);
  EXPECT_EQ(reply->tool_calls[0].name, "get_weather");
  EXPECT_FALSE(reply->tool_calls[0].id.empty());
  auto arguments = bjson::parse(reply->tool_calls[0].arguments).as_object();
  EXPECT_TRUE(arguments.at("city").is_string()) << reply->tool_calls[0].arguments;
  EXPECT_GT(reply->usage.total_tokens, 0);

  Expected<ChatResponse, Error> streamed = unexpected(Error{});
  Seen seen = collect(client, request, streamed);
  ASSERT_TRUE(streamed) << streamed.error().message;
  EXPECT_EQ(streamed->provider, provider);
  EXPECT_GT(streamed->latency_ms, 0.0);
  ASSERT_EQ(seen.calls.size(), 1u);
  EXPECT_EQ(seen.calls[0].second, "get_weather");
  ASSERT_EQ(streamed->tool_calls.size(), 1u);
  EXPECT_EQ(seen.calls[0].first, streamed->tool_calls[0].id);
  EXPECT_EQ(seen.arguments, streamed->tool_calls[0].arguments);
  EXPECT_EQ(bjson::parse(seen.arguments), bjson::parse(reply->tool_calls[0].arguments));
  EXPECT_EQ(seen.finish, "tool_calls");
  EXPECT_GT(seen.usage.total_tokens, 0);
  EXPECT_EQ(seen.usage.total_tokens, streamed->usage.total_tokens);
  // The call begins before its arguments come.
  auto first_call = std::find(seen.types.begin(), seen.types.end(), StreamEvent::Type::tool_call);
  auto first_arguments = std::find(seen.types.begin(), seen.types.end(), StreamEvent::Type::tool_arguments);
  EXPECT_LT(first_call, first_arguments);

  // The call's result goes back; the model answers in text.
  ChatMessage call;
  call.role = "assistant";
  call.tool_calls = reply->tool_calls;
  ChatMessage result;
  result.role = "tool";
  result.tool_call_id = reply->tool_calls[0].id;
  result.content = R"({"temperature_c":21})";
  request.messages.push_back(call);
  request.messages.push_back(result);
  Expected<ChatResponse, Error> answered = unexpected(Error{});
  Seen text = collect(client, request, answered);
  ASSERT_TRUE(answered) << answered.error().message;
  EXPECT_TRUE(answered->tool_calls.empty());
  EXPECT_FALSE(text.text.empty());
  EXPECT_EQ(text.text, answered->content);
  EXPECT_EQ(text.finish, "stop");
}

TEST(ClientTools, AnOpenAICompatibleProviderGetsPartsAndToolsAsWrittenAndStreamsTypedEvents) {
  auto fake = start_fake();
  Client client;
  ASSERT_TRUE(client.add_provider(fake_provider_config(fake)));
  expect_tools_images_and_events(client, fake, "fake/fake-model", "fake", "/v1/chat/completions",
                                 [](const bjson::object& sent) {
                                   const auto& content = sent.at("messages").at(0).at("content").as_array();
                                   EXPECT_EQ(content.at(0).at("type").as_string(), "text");
                                   EXPECT_EQ(content.at(1).at("image_url").at("url").as_string(), kPixel);
                                   EXPECT_EQ(sent.at("tools").at(0).at("function").at("name").as_string(), "get_weather");
                                   EXPECT_EQ(sent.at("tool_choice").as_string(), "auto");
                                 });
  // The tool result went back as OpenAI's tool message, after the assistant's call.
  auto sent = last_body_sent(fake, "/v1/chat/completions");
  const auto& messages = sent.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_TRUE(messages[1].at("content").is_null());
  EXPECT_EQ(messages[1].at("tool_calls").at(0).at("function").at("name").as_string(), "get_weather");
  EXPECT_EQ(messages[2].at("tool_call_id").as_string(), messages[1].at("tool_calls").at(0).at("id").as_string());
}

TEST(ClientTools, GeminiGetsTheImageInlineAndTheToolAsAFunctionDeclaration) {
  auto fake = start_fake({"--require-key", "gemini-lib-key"});
  Client client;
  ProviderConfig p = gemini_config(fake, "gem", "gemini-lib-key");
  ASSERT_TRUE(client.add_provider(p));
  expect_tools_images_and_events(client, fake, "gem/fake-model", "gem", "/v1beta/models/", [](const bjson::object& sent) {
    const auto& parts = sent.at("contents").at(0).at("parts").as_array();
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[1].at("inlineData").at("mimeType").as_string(), "image/png");
    EXPECT_EQ(std::string("data:image/png;base64,") + std::string(parts[1].at("inlineData").at("data").as_string()),
              kPixel);
    EXPECT_EQ(sent.at("tools").at(0).at("functionDeclarations").at(0).at("name").as_string(), "get_weather");
  });
}

TEST(ClientTools, AnthropicGetsTheImageAsABase64SourceAndStreamsTheToolUseAsTypedEvents) {
  auto fake = start_fake({"--require-key", "sk-ant-tools"});
  Client client;
  ASSERT_TRUE(client.add_provider(anthropic_config(fake, "claude", "sk-ant-tools")));
  expect_tools_images_and_events(client, fake, "claude/fake-model", "claude", "/v1/messages", [](const bjson::object& sent) {
    const auto& content = sent.at("messages").at(0).at("content").as_array();
    ASSERT_EQ(content.size(), 2u);
    EXPECT_EQ(content[1].at("type").as_string(), "image");
    EXPECT_EQ(content[1].at("source").at("type").as_string(), "base64");
    EXPECT_EQ(content[1].at("source").at("media_type").as_string(), "image/png");
    EXPECT_EQ(sent.at("tools").at(0).at("name").as_string(), "get_weather");
  });
}

TEST(ClientTools, AToolWithoutValidParametersIsRefusedBeforeAnythingIsSent) {
  auto fake = start_fake();
  Client client;
  ASSERT_TRUE(client.add_provider(fake_provider_config(fake)));
  auto request = weather_request("fake/fake-model");
  request.tools[0].parameters = "{not json";
  auto refused = client.chat(request);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().http_status, 400);
  EXPECT_EQ(refused.error().param, "tools");
  EXPECT_NE(refused.error().message.find("get_weather"), std::string::npos);
}

TEST(ClientTools, AnErrorInsideAStreamIsTheResultsErrorNotAShortAnswer) {
  auto fake = start_fake({"--require-key", "gemini-lib-key"});
  Client client;
  ProviderConfig p = gemini_config(fake, "gem", "gemini-lib-key");
  p.headers.push_back({"x-fake-stream-error", "true"});
  ASSERT_TRUE(client.add_provider(p));
  ChatRequest request;
  request.model = "gem/fake-model";
  request.messages = {{"user", "fail in the middle"}};
  std::string text;
  auto r = client.chat_stream(request, [&](const StreamEvent& e) {
    if (e.type == StreamEvent::Type::text) text += e.text;
  });
  ASSERT_FALSE(r);
  EXPECT_FALSE(text.empty());  // what came before the error was delivered
  EXPECT_NE(r.error().message.find("provider 'gem'"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace llmux::test
