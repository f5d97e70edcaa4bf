// Prompt templates: `llmux prompt create|list|show|remove` and `llmux run`.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "cli_harness.hpp"
#include "harness.hpp"

namespace llmux::test {
namespace {

namespace bjson = boost::json;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(CliPrompt, CreateListShowRunRemove) {
  auto fake = start_fake();
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "fake", fake.base_url(), "--model", "fake-model"}).exit, 0);
  auto created = box.run({"prompt", "create", "explain", "Explain this concept: {concept} in {{braces}}",
                          "--system", "You teach {audience}.", "--description", "teaching"});
  ASSERT_EQ(created.exit, 0) << created.all();
  EXPECT_TRUE(contains(created.out, "parameters: concept, audience")) << created.out;
  EXPECT_EQ(box.run({"prompt", "create", "explain", "again"}).exit, 2);
  ASSERT_EQ(box.run({"prompt", "create", "plain", "No parameters here"}).exit, 0);

  auto list = box.run({"prompt", "list"});
  ASSERT_EQ(list.exit, 0);
  EXPECT_TRUE(contains(list.out, "explain  concept, audience  Explain this concept: {concept} in {{braces}}")) << list.out;
  EXPECT_TRUE(contains(list.out, "plain    -")) << list.out;
  auto json = bjson::parse(box.run({"prompt", "list", "--json"}).out).as_array();
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0].at("parameters").as_array().size(), 2u);
  auto show = box.run({"prompt", "show", "explain"});
  EXPECT_TRUE(contains(show.out, "You teach {audience}.")) << show.out;

  auto run = box.run({"run", "explain", "--param", "concept=machine learning", "--param", "audience=kids"});
  ASSERT_EQ(run.exit, 0) << run.all();
  EXPECT_TRUE(contains(run.out, "You said: Explain this concept: machine learning in {braces}")) << run.out;
  auto sent = http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests");
  EXPECT_TRUE(contains(sent.body, "You teach kids.")) << sent.body;
  auto streamed = box.run({"run", "plain", "--stream"});
  EXPECT_EQ(streamed.exit, 0) << streamed.all();
  EXPECT_TRUE(contains(streamed.out, "You said: No parameters here")) << streamed.out;

  ASSERT_EQ(box.run({"prompt", "remove", "plain"}).exit, 0);
  auto gone = box.run({"run", "plain"});
  EXPECT_EQ(gone.exit, 3);
  EXPECT_TRUE(contains(gone.err, "Prompt 'plain' not found; known: explain")) << gone.err;
}

// The product docs' spelling: `llmux create NAME TEMPLATE` and `llmux run NAME … --execute`.
TEST(CliPrompt, TopLevelCreateAndRunExecuteAsTheDocsWriteThem) {
  auto fake = start_fake();
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "fake", fake.base_url(), "--model", "fake-model"}).exit, 0);
  auto created = box.run({"create", "explain", "Explain this concept: {concept}", "--description", "docs"});
  ASSERT_EQ(created.exit, 0) << created.all();
  EXPECT_TRUE(contains(created.out, "parameters: concept")) << created.out;
  auto shown = box.run({"prompt", "show", "explain", "--json"});
  ASSERT_EQ(shown.exit, 0) << shown.all();
  EXPECT_EQ(bjson::parse(shown.out).at("description"), "docs");
  EXPECT_EQ(box.run({"create", "explain", "again"}).exit, 2) << "an existing prompt needs --force";

  auto executed = box.run({"run", "explain", "--param", "concept=machine learning", "--execute"});
  ASSERT_EQ(executed.exit, 0) << executed.all();
  EXPECT_TRUE(contains(executed.out, "You said: Explain this concept: machine learning")) << executed.out;
  auto sent = http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests");
  EXPECT_TRUE(contains(sent.body, "Explain this concept: machine learning")) << sent.body;

  auto both = box.run({"run", "explain", "--param", "concept=x", "--execute", "--dry-run"});
  EXPECT_EQ(both.exit, 2) << both.all();
  EXPECT_TRUE(contains(both.err, "excludes")) << both.err;
}

TEST(CliPrompt, MissingOrUnknownParametersAreNamed) {
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "fake", "http://127.0.0.1:9"}).exit, 0);
  ASSERT_EQ(box.run({"prompt", "create", "explain", "Explain this concept: {concept}"}).exit, 0);
  auto missing = box.run({"run", "explain"});
  EXPECT_EQ(missing.exit, 2);
  EXPECT_TRUE(contains(missing.err, "missing parameter 'concept' (pass --param concept=VALUE)")) << missing.err;
  auto unknown = box.run({"run", "explain", "--param", "concept=x", "--param", "topic=y"});
  EXPECT_EQ(unknown.exit, 2);
  EXPECT_TRUE(contains(unknown.err, "unknown parameter 'topic'; prompt 'explain' takes: concept")) << unknown.err;
  auto malformed = box.run({"run", "explain", "--param", "concept"});
  EXPECT_EQ(malformed.exit, 2);
  EXPECT_TRUE(contains(malformed.err, "invalid --param \"concept\": expected NAME=VALUE")) << malformed.err;
}

TEST(CliPrompt, DryRunPrintsTheRenderedPromptAndTheExactRequestWithSecretsRedacted) {
  auto fake = start_fake();
  Sandbox box;
  box.extra_env = {"LLMUX_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"};
  ASSERT_EQ(box.run({"provider", "add", "fake", fake.base_url(), "--model", "fake-model", "--header",
                     "X-Org:acme"})
                .exit,
            0);
  ASSERT_EQ(box.run({"config", "set", "api_keys.fake", "sk-dry-run-secret-9999"}).exit, 0);
  ASSERT_EQ(box.run({"prompt", "create", "explain", "Explain this concept: {concept}"}).exit, 0);

  auto text = box.run({"run", "explain", "--param", "concept=machine learning", "--dry-run", "--max-tokens", "64"});
  ASSERT_EQ(text.exit, 0) << text.all();
  EXPECT_TRUE(contains(text.out, "user:   Explain this concept: machine learning")) << text.out;
  EXPECT_TRUE(contains(text.out, "POST " + fake.base_url() + "/chat/completions")) << text.out;
  EXPECT_TRUE(contains(text.out, "Authorization: Bearer ****9999")) << text.out;
  EXPECT_TRUE(contains(text.out, "X-Org: acme")) << text.out;
  EXPECT_FALSE(contains(text.all(), "sk-dry-run")) << text.out;

  auto json = box.run({"run", "explain", "--param", "concept=machine learning", "--dry-run", "--json", "--stream"});
  ASSERT_EQ(json.exit, 0) << json.all();
  auto v = bjson::parse(json.out);
  EXPECT_EQ(v.at("request").at("url").as_string(), fake.base_url() + "/chat/completions");
  EXPECT_EQ(v.at("request").at("body").at("model"), "fake-model");
  EXPECT_EQ(v.at("request").at("body").at("stream"), true);
  EXPECT_EQ(v.at("request").at("body").at("messages").as_array()[0].at("content"),
            "Explain this concept: machine learning");
  auto sent = http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests");
  EXPECT_FALSE(contains(sent.body, "machine learning")) << "a dry run sent the request";
}

}  // namespace
}  // namespace llmux::test
