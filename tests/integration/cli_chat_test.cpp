// `llmux chat` and `llmux models`, directly against a provider and through a running gateway, and
// the failures users hit first: unknown provider, unreachable, 401, unknown model, timeout.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/json.hpp>
#include <algorithm>
#include <map>

#include "cli_harness.hpp"
#include "harness.hpp"

namespace llmux::test {
namespace {

namespace bjson = boost::json;
using Clock = std::chrono::steady_clock;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(CliChat, AnswersDirectlyWithoutADaemon) {
  auto fake = start_fake();
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "fake", fake.base_url(), "--model", "fake-model"}).exit, 0);
  auto r = box.run({"chat", "what is llmux?", "--provider", "custom:fake", "--system", "be brief", "--temperature",
                    "0.2", "--max-tokens", "50"});
  ASSERT_EQ(r.exit, 0) << r.all();
  EXPECT_EQ(r.out, "Hello from llmux-fake-provider. You said: what is llmux?\n");
  EXPECT_EQ(r.err, "");
  auto sent = http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests");
  auto upstream = bjson::parse(std::string(bjson::parse(sent.body).as_array().back().at("body").as_string()));
  EXPECT_EQ(upstream.at("messages").as_array()[0].at("content"), "be brief");
  EXPECT_EQ(upstream.at("temperature").as_double(), 0.2);
  EXPECT_EQ(upstream.at("max_tokens"), 50);

  auto json = box.run({"chat", "hi", "--provider", "fake", "--json"});
  ASSERT_EQ(json.exit, 0) << json.all();
  auto v = bjson::parse(json.out);
  EXPECT_EQ(v.at("provider"), "fake");
  EXPECT_EQ(v.at("model"), "fake-model");
  EXPECT_GT(v.at("usage").at("total_tokens").as_int64(), 0);

  // One provider: no --provider needed; stdin as the prompt.
  auto piped = box.run({"chat"}, "from stdin\n");
  EXPECT_EQ(piped.exit, 0) << piped.all();
  EXPECT_TRUE(contains(piped.out, "You said: from stdin")) << piped.out;
}

TEST(CliChat, StreamPrintsTokensAsTheyArrive) {
  auto fake = start_fake({"--chunks", "4", "--chunk-interval-ms", "200"});
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "fake", fake.base_url()}).exit, 0);
  Spawned chat({LLMUX_BINARY, "chat", "stream please", "--provider", "fake", "--model", "m", "--stream"}, box.env());
  ASSERT_TRUE(chat.wait_until([](const std::string& out, const std::string&) { return !out.empty(); }))
      << chat.err();
  auto first = Clock::now();
  std::string at_first = chat.out();
  EXPECT_EQ(chat.wait(), 0) << chat.err();
  auto end = Clock::now();
  EXPECT_GE(end - first, std::chrono::milliseconds(200)) << "the output came all at once";
  EXPECT_LT(at_first.size(), chat.out().size());
  EXPECT_EQ(chat.out(), "Hello from llmux-fake-provider. You said: stream please\n");
}

TEST(CliChat, GoesThroughARunningGatewayWithGateway) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n  fake:\n    base_url: " + fake.base_url() +
                          "\n    models: [fake-model]\n    default_model: fake-model\n");
  Sandbox box;
  std::string url = "http://127.0.0.1:" + std::to_string(gw.port);
  auto r = box.run({"chat", "via the gateway", "--gateway", url, "--provider", "fake"});
  ASSERT_EQ(r.exit, 0) << r.all();
  EXPECT_TRUE(contains(r.out, "You said: via the gateway")) << r.out;
  auto s = box.run({"chat", "streamed via the gateway", "--gateway", url, "--model", "fake/fake-model", "--stream"});
  ASSERT_EQ(s.exit, 0) << s.all();
  EXPECT_TRUE(contains(s.out, "You said: streamed via the gateway")) << s.out;
  auto models = box.run({"models", "--gateway", url, "--json"});
  ASSERT_EQ(models.exit, 0) << models.all();
  EXPECT_TRUE(contains(models.out, "\"fake/fake-model\"")) << models.out;
  auto missing = box.run({"chat", "x", "--gateway", url, "--model", "fake/nope"});
  EXPECT_EQ(missing.exit, 3) << missing.all();
  EXPECT_TRUE(contains(missing.err, "nope")) << missing.err;
}

TEST(CliChat, ModelsListsLiveModelsNextToConfiguredOnes) {
  auto fake = start_fake({"--models", "fake-model,live-only"});
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "fake", fake.base_url(), "--model", "fake-model", "--model", "configured-only",
                     "--context-window", "4096"})
                .exit,
            0);
  ASSERT_EQ(box.run({"provider", "add", "down", "http://127.0.0.1:1/v1", "--model", "ghost"}).exit, 0);
  auto one = box.run({"models", "fake"});
  ASSERT_EQ(one.exit, 0) << one.all();
  EXPECT_TRUE(contains(one.out, "PROVIDER  MODEL            CONFIGURED  LIVE  CONTEXT")) << one.out;
  EXPECT_TRUE(contains(one.out, "fake      fake-model       yes         yes   4096")) << one.out;
  EXPECT_TRUE(contains(one.out, "fake      configured-only  yes         no    4096")) << one.out;
  EXPECT_TRUE(contains(one.out, "fake      live-only        no          yes   -")) << one.out;

  // Ollama's native listing (/api/tags, {"models":[{"name":…}]}) is read the same way.
  ASSERT_EQ(box.run({"provider", "add", "ol", fake.base_url(), "--type", "ollama", "--model", "fake-model"}).exit, 0);
  auto native = box.run({"models", "ol"});
  ASSERT_EQ(native.exit, 0) << native.all();
  EXPECT_TRUE(contains(native.out, "ol        live-only   no          yes")) << native.out;
  ASSERT_EQ(box.run({"provider", "remove", "ol"}).exit, 0);

  auto all = box.run({"models", "--json"});
  EXPECT_EQ(all.exit, 1) << "a provider could not be listed";
  auto v = bjson::parse(all.out);
  EXPECT_EQ(v.at("models").as_array().size(), 4u);
  ASSERT_EQ(v.at("errors").as_array().size(), 1u);
  EXPECT_EQ(v.at("errors").as_array()[0].at("provider"), "down");
  EXPECT_TRUE(v.at("models").as_array()[3].at("live").is_null());
}

// Each adapter's own listing shape, read back from the fake: Anthropic's data[].id (asked with
// anthropic-version), Gemini's models[].name ("models/ID"), Azure's resource models (data[].id
// under /openai/models?api-version=) and Cohere's models[].name.
TEST(CliModels, LiveListingsOfAnthropicGeminiAzureAndCohereAreReadBack) {
  auto fake = start_fake({"--models", "fake-model,live-only"});
  const std::string root = "http://127.0.0.1:" + std::to_string(fake.port);
  Sandbox box;
  std::string config = temp_file("providers:\n"
                                 "  claude:\n    type: anthropic\n    base_url: " + root + "/v1\n    api_key: sk-ant-fake\n"
                                 "    models: [fake-model]\n"
                                 "  gem:\n    type: gemini\n    base_url: " + root + "/v1beta\n    api_key: gemini-fake-key\n"
                                 "    models: [fake-model]\n"
                                 "  az:\n    type: azure-openai\n    baseUrl: " + root + "\n    apiKey: azure-fake-key\n"
                                 "    apiVersion: \"2024-10-21\"\n    models:\n      - id: fake-model\n        deployment: prod-4o\n"
                                 "  co:\n    type: cohere\n    base_url: " + root + "/cohere/v2\n    api_key: co-fake-key\n"
                                 "    models: [fake-model]\n");
  auto r = box.run({"models", "--config", config, "--json"});
  ASSERT_EQ(r.exit, 0) << r.all();
  auto v = bjson::parse(r.out);
  EXPECT_TRUE(v.at("errors").as_array().empty()) << r.out;
  std::map<std::string, std::map<std::string, std::pair<bool, bool>>> seen;  // provider -> id -> (configured, live)
  for (const auto& row : v.at("models").as_array())
    seen[std::string(row.at("provider").as_string())][std::string(row.at("id").as_string())] = {
        row.at("configured").as_bool(), row.at("live").is_bool() && row.at("live").as_bool()};
  for (std::string provider : {"claude", "gem", "az", "co"}) {
    SCOPED_TRACE(provider);
    auto& models = seen[provider];
    EXPECT_EQ(models.size(), 2u) << r.out;
    EXPECT_EQ(models["fake-model"], std::make_pair(true, true)) << r.out;
    EXPECT_EQ(models["live-only"], std::make_pair(false, true)) << r.out;
  }
  // Every listing went to the adapter's own endpoint.
  auto log = bjson::parse(http_get(root + "/_fake/requests").body).as_array();
  auto reached = [&log](std::string_view path) {
    return std::any_of(log.begin(), log.end(), [path](const bjson::value& entry) {
      std::string_view target = entry.at("target").as_string();
      return target.substr(0, target.find('?')) == path;
    });
  };
  EXPECT_TRUE(reached("/v1/models")) << bjson::serialize(log);
  EXPECT_TRUE(reached("/v1beta/models")) << bjson::serialize(log);
  EXPECT_TRUE(reached("/openai/models")) << bjson::serialize(log);
  EXPECT_TRUE(reached("/cohere/v1/models")) << bjson::serialize(log);
}

TEST(CliFailures, UnknownProviderListsTheKnownOnes) {
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "a", "http://127.0.0.1:9"}).exit, 0);
  ASSERT_EQ(box.run({"provider", "add", "b", "http://127.0.0.1:9"}).exit, 0);
  auto r = box.run({"chat", "x", "--provider", "custom:x"});
  EXPECT_EQ(r.exit, 3);
  EXPECT_EQ(r.err, "error: Custom provider 'x' not found; known: a, b\n");
  auto several = box.run({"chat", "x"});
  EXPECT_EQ(several.exit, 2);
  EXPECT_TRUE(contains(several.err, "llmux provider default NAME")) << several.err;
  auto models = box.run({"models", "x"});
  EXPECT_EQ(models.exit, 3);
  EXPECT_TRUE(contains(models.err, "Provider 'x' not found; known: a, b")) << models.err;
}

TEST(CliFailures, ConnectionFailureNamesTheUrlAndTheCause) {
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "dead", "http://127.0.0.1:1/v1", "--model", "m"}).exit, 0);
  auto r = box.run({"chat", "x", "--provider", "dead"});
  EXPECT_EQ(r.exit, 1);
  EXPECT_TRUE(contains(r.err, "provider 'dead' is unreachable at http://127.0.0.1:1/v1/chat/completions: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "onnect")) << "names the cause: " << r.err;
  EXPECT_TRUE(contains(r.err, "is the server running at http://127.0.0.1:1/v1?")) << r.err;
}

TEST(CliFailures, UnauthorizedSaysHowToSetTheKey) {
  auto fake = start_fake({"--require-key", "sk-right-000000000000"});
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "locked", fake.base_url(), "--api-key-env", "LOCKED_KEY"}).exit, 0);
  box.extra_env = {"LOCKED_KEY=sk-wrong-000000000000"};
  auto wrong = box.run({"chat", "x", "--provider", "locked", "--model", "m"});
  EXPECT_EQ(wrong.exit, 1);
  EXPECT_TRUE(contains(wrong.err, "provider 'locked' returned HTTP 401: Incorrect API key provided.")) << wrong.err;
  EXPECT_TRUE(contains(wrong.err, "the key from ${LOCKED_KEY} was rejected")) << wrong.err;
  EXPECT_FALSE(contains(wrong.all(), "sk-wrong")) << wrong.all();
  box.extra_env = {};
  auto unset = box.run({"chat", "x", "--provider", "locked", "--model", "m"});
  EXPECT_EQ(unset.exit, 1);
  EXPECT_TRUE(contains(unset.err, "LOCKED_KEY is not set: export LOCKED_KEY=YOUR_KEY, or store the key with `llmux api-key locked`"))
      << unset.err;
}

TEST(CliFailures, UnknownModelListsTheProvidersModels) {
  auto fake = start_fake();
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "fake", fake.base_url(), "--model", "fake-model", "--model", "other"}).exit, 0);
  auto r = box.run({"chat", "x", "--provider", "fake", "--model", "nope"});
  EXPECT_EQ(r.exit, 3);
  EXPECT_TRUE(contains(r.err, "model 'nope' is not served by provider 'fake' (its models: fake-model, other)")) << r.err;
}

TEST(CliFailures, TimeoutNamesTheLimit) {
  auto fake = start_fake();
  Sandbox box;
  // The fake provider takes its script from request headers, so the provider's own headers slow it.
  ASSERT_EQ(box.run({"provider", "add", "slow", fake.base_url(), "--timeout", "300ms", "--header",
                     "x-fake-latency-ms:5000"})
                .exit,
            0);
  auto start = Clock::now();
  auto r = box.run({"chat", "x", "--provider", "slow", "--model", "m"});
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(4));
  EXPECT_EQ(r.exit, 1);
  EXPECT_TRUE(contains(r.err, "provider 'slow' did not respond within 300ms")) << r.err;
  EXPECT_TRUE(contains(r.err, "llmux provider update slow --timeout")) << r.err;
}

}  // namespace
}  // namespace llmux::test
