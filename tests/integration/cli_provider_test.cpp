// `llmux provider add|list|info|update|remove|enable|disable|default` against the provider store.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "cli_harness.hpp"

namespace llmux::test {
namespace {

namespace bjson = boost::json;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(CliProvider, AddListInfoUpdateEnableDefaultRemove) {
  Sandbox box;
  auto add = box.run({"provider", "add", "local", "http://localhost:11434/v1", "--model", "llama3.2", "--model",
                      "qwen", "--header", "X-Custom:v", "--context-window", "8192", "--price-input", "0.5",
                      "--price-output", "1.5", "--priority", "3", "--timeout", "30s", "--max-retries", "1",
                      "--api-key-env", "LOCAL_KEY"});
  ASSERT_EQ(add.exit, 0) << add.all();
  EXPECT_TRUE(contains(add.out, "added provider 'local'")) << add.out;
  EXPECT_TRUE(contains(add.err, "LOCAL_KEY is not set")) << add.err;  // a warning, not a refusal
  std::string file = read_text(box.store_file());
  EXPECT_TRUE(contains(file, "api_key: ${LOCAL_KEY}")) << file;
  EXPECT_TRUE(contains(file, "X-Custom: v")) << file;
  EXPECT_EQ(file_mode(box.store_file()), 0600);

  ASSERT_EQ(box.run({"provider", "add", "other", "https://api.example.com", "--auth-type", "none"}).exit, 0);

  auto list = box.run({"provider", "list"});
  ASSERT_EQ(list.exit, 0) << list.all();
  EXPECT_TRUE(contains(list.out, "NAME   TYPE               BASE URL                   DEFAULT MODEL  AUTH")) << list.out;
  EXPECT_TRUE(contains(list.out, "local  openai-compatible  http://localhost:11434/v1  llama3.2       bearer ${LOCAL_KEY} (not set)  yes      3"))
      << list.out;
  EXPECT_TRUE(contains(list.out, "other  openai-compatible  https://api.example.com    -              none")) << list.out;

  auto json = box.run({"provider", "list", "--json"});
  ASSERT_EQ(json.exit, 0);
  auto parsed = bjson::parse(json.out).as_array();
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].at("name"), "local");
  EXPECT_EQ(parsed[0].at("base_url"), "http://localhost:11434/v1");
  EXPECT_EQ(parsed[0].at("timeout_ms"), 30000);
  EXPECT_EQ(parsed[0].at("max_retries"), 1);
  EXPECT_EQ(parsed[0].at("models").as_array()[1].at("context_window"), 8192);
  // --price-output is USD per 1K tokens; listings always say USD per 1M.
  EXPECT_EQ(parsed[0].at("models").as_array()[0].at("pricing").at("output_per_mtok"), 1500.0);
  EXPECT_EQ(parsed[1].at("auth_type"), "none");

  auto info = box.run({"provider", "info", "local"});
  ASSERT_EQ(info.exit, 0) << info.all();
  for (const char* expected : {"base URL:       http://localhost:11434/v1", "priority:       3", "timeout:        30s",
                               "headers:        X-Custom: v", "API key:        ${LOCAL_KEY} (not set)",
                               "llama3.2 (context 8192, $500 in / $1500 out per 1M tokens)"})
    EXPECT_TRUE(contains(info.out, expected)) << expected << "\n" << info.out;

  // update in place: no remove-and-add
  auto update = box.run({"provider", "update", "local", "--timeout", "2m", "--model", "phi", "--remove-model", "qwen",
                         "--header", "X-Other:w", "--url", "http://127.0.0.1:11434"});
  ASSERT_EQ(update.exit, 0) << update.all();
  auto after = bjson::parse(box.run({"provider", "info", "local", "--json"}).out).as_object();
  EXPECT_EQ(after.at("timeout_ms"), 120000);
  EXPECT_EQ(after.at("base_url"), "http://127.0.0.1:11434/v1");
  EXPECT_EQ(after.at("base_url_written"), "http://127.0.0.1:11434");
  auto models = after.at("models").as_array();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].at("id"), "llama3.2");
  EXPECT_EQ(models[1].at("id"), "phi");
  EXPECT_EQ(after.at("headers").at("X-Custom"), "v");
  EXPECT_EQ(after.at("headers").at("X-Other"), "w");

  ASSERT_EQ(box.run({"provider", "disable", "local"}).exit, 0);
  EXPECT_TRUE(contains(read_text(box.store_file()), "enabled: false"));
  auto disabled = box.run({"provider", "list"});
  EXPECT_TRUE(contains(disabled.out, "  no  ")) << disabled.out;
  ASSERT_EQ(box.run({"provider", "enable", "local"}).exit, 0);
  EXPECT_EQ(bjson::parse(box.run({"provider", "info", "local", "--json"}).out).at("enabled"), true);

  auto def = box.run({"provider", "default", "other"});
  ASSERT_EQ(def.exit, 0) << def.all();
  EXPECT_TRUE(contains(box.run({"provider", "list"}).out, "other *"));

  auto removed = box.run({"provider", "remove", "local"});
  ASSERT_EQ(removed.exit, 0) << removed.all();
  auto rest = bjson::parse(box.run({"provider", "list", "--json"}).out).as_array();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].at("name"), "other");
}

TEST(CliProvider, HandEditsAreHonouredAndVariableReferencesStayAsWritten) {
  Sandbox box;
  box.extra_env = {"ORG_ID=acme-org", "HAND_KEY=sk-hand-000000000000"};
  const std::string hand =
      "# my providers, edited by hand\n"
      "providers:\n"
      "  # the box under the desk\n"
      "  desk:\n"
      "    baseUrl: http://10.0.0.5:8000   # camelCase works too\n"
      "    apiKey: ${HAND_KEY}\n"
      "    customHeaders: { X-Org: \"${ORG_ID}\" }\n"
      "    models: [a, b]\n"
      "\n"
      "  # second one\n"
      "  lab:\n"
      "    base_url: http://10.0.0.6:8000\n";
  write_text(box.store_file(), hand);
  auto list = box.run({"provider", "list"});
  ASSERT_EQ(list.exit, 0) << list.all();
  EXPECT_TRUE(contains(list.out, "desk")) << list.out;
  EXPECT_TRUE(contains(list.out, "bearer ${HAND_KEY}")) << list.out;

  auto update = box.run({"provider", "update", "lab", "--timeout", "5s", "--model", "m1"});
  ASSERT_EQ(update.exit, 0) << update.all();
  std::string file = read_text(box.store_file());
  // Everything but lab's own block is byte for byte what the user wrote.
  EXPECT_EQ(file.substr(0, file.find("  lab:")), hand.substr(0, hand.find("  lab:"))) << file;
  EXPECT_TRUE(contains(file, "${HAND_KEY}")) << file;
  EXPECT_TRUE(contains(file, "\"${ORG_ID}\"")) << file;
  EXPECT_FALSE(contains(file, "sk-hand-")) << "a variable was expanded into the file";
  EXPECT_TRUE(contains(file, "timeout: 5s")) << file;

  // An update of the hand-written entry keeps its spelling of the keys.
  ASSERT_EQ(box.run({"provider", "update", "desk", "--header", "X-Team:blue"}).exit, 0);
  file = read_text(box.store_file());
  EXPECT_TRUE(contains(file, "customHeaders: {X-Org: \"${ORG_ID}\", X-Team: blue}")) << file;
  EXPECT_TRUE(contains(file, "# the box under the desk")) << file;
  auto info = bjson::parse(box.run({"provider", "info", "desk", "--json"}).out).as_object();
  EXPECT_EQ(info.at("headers").at("X-Org"), "${ORG_ID}");
  EXPECT_EQ(info.at("api_key").at("source"), "${HAND_KEY}");
}

TEST(CliProvider, BadInputGetsExactErrorsAndChangesNothing) {
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "a", "http://127.0.0.1:9/v1"}).exit, 0);
  std::string before = read_text(box.store_file());
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"provider", "add", "b", "localhost:11434"}, "invalid URL \"localhost:11434\": URL must start with http:// or https://"},
      {{"provider", "add", "b", "ftp://host"}, "invalid URL \"ftp://host\": unsupported URL scheme \"ftp\""},
      {{"provider", "add", "a", "http://127.0.0.1:10"}, "provider 'a' already exists in"},
      {{"provider", "add", "b", "http://h", "--header", "X-Org"}, "invalid header \"X-Org\": expected NAME:VALUE"},
      {{"provider", "add", "b", "http://h", "--header", "X-A:v\r\nX-Injected: 1"},
       "header \"X-A\" contains a line break (CR/LF): refused, it would inject extra headers"},
      {{"provider", "add", "b", "http://h", "--header", "X-A:v\nX"}, "contains a line break (CR/LF)"},
      {{"provider", "add", "b", "http://h", "--type", "gemini-native"}, "unknown provider type \"gemini-native\"; known types: openai-compatible"},
      {{"provider", "add", "b c", "http://h"}, "invalid provider name \"b c\""},
      {{"provider", "add", "b", "http://h", "--timeout", "soon"}, "invalid --timeout: invalid duration \"soon\""},
      {{"provider", "add", "b", "http://h", "--model", "x", "--default-model", "y"},
       "--default-model \"y\" is not one of the --model values (x)"},
      {{"provider", "update", "a", "--header", "Bad Name:v"}, "invalid header name \"Bad Name\""},
  };
  for (const auto& c : cases) {
    auto r = box.run(c.args);
    EXPECT_EQ(r.exit, 2) << c.message << "\n" << r.all();
    EXPECT_TRUE(contains(r.err, c.message)) << "expected: " << c.message << "\ngot: " << r.err;
  }
  EXPECT_EQ(read_text(box.store_file()), before);
}

TEST(CliProvider, AChangeThatWouldMakeTheStoreInvalidIsRefused) {
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "a", "http://127.0.0.1:9/v1", "--model", "m"}).exit, 0);
  std::string before = read_text(box.store_file());
  // default_model must be one of the listed models: the loader's own check refuses it.
  auto r = box.run({"provider", "update", "a", "--default-model", "other"});
  EXPECT_EQ(r.exit, 2) << r.all();
  EXPECT_TRUE(contains(r.err, "would be invalid after this change")) << r.err;
  EXPECT_TRUE(contains(r.err, "providers.a.default_model: \"other\" is not one of this provider's models (m)")) << r.err;
  EXPECT_EQ(read_text(box.store_file()), before);
}

// A URL with credentials is refused without echoing them.
TEST(CliProvider, AUrlWithCredentialsIsRefusedWithoutShowingThem) {
  Sandbox box;
  auto r = box.run({"provider", "add", "leaky", "https://alice:hunter2-secret@api.example.com/v1"});
  EXPECT_EQ(r.exit, 2) << r.all();
  EXPECT_TRUE(contains(r.err, "invalid URL \"https://****@api.example.com/v1\": URL must not contain credentials")) << r.err;
  EXPECT_FALSE(contains(r.all(), "hunter2")) << r.all();
  EXPECT_FALSE(contains(r.all(), "alice")) << r.all();
  ASSERT_EQ(box.run({"provider", "add", "ok", "http://127.0.0.1:9/v1"}).exit, 0);
  auto update = box.run({"provider", "update", "ok", "--url", "http://token-abc@127.0.0.1:9/v1"});
  EXPECT_EQ(update.exit, 2) << update.all();
  EXPECT_FALSE(contains(update.all(), "token-abc")) << update.all();
}

// `provider update --model` adds to the listed models; it says so, and what the list is now.
TEST(CliProvider, UpdateSaysWhatItDidToTheModels) {
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "a", "http://127.0.0.1:9/v1", "--model", "m1"}).exit, 0);
  auto added = box.run({"provider", "update", "a", "--model", "m2"});
  ASSERT_EQ(added.exit, 0) << added.all();
  EXPECT_TRUE(contains(added.out, "  added model m2; models now: m1, m2\n")) << added.out;
  auto removed = box.run({"provider", "update", "a", "--remove-model", "m1"});
  ASSERT_EQ(removed.exit, 0) << removed.all();
  EXPECT_TRUE(contains(removed.out, "  removed model m1; models now: m2\n")) << removed.out;
  EXPECT_TRUE(contains(removed.out, "  default model: m2 (was m1)\n")) << removed.out;
  auto timeout = box.run({"provider", "update", "a", "--timeout", "5s"});
  ASSERT_EQ(timeout.exit, 0) << timeout.all();
  EXPECT_FALSE(contains(timeout.out, "model")) << timeout.out;
}

TEST(CliProvider, UnknownNamesListTheKnownOnes) {
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "a", "http://127.0.0.1:9/v1"}).exit, 0);
  ASSERT_EQ(box.run({"provider", "add", "b", "http://127.0.0.1:9/v1"}).exit, 0);
  for (std::vector<std::string> args : {std::vector<std::string>{"provider", "remove", "x"},
                                        {"provider", "update", "x", "--timeout", "1s"},
                                        {"provider", "disable", "x"},
                                        {"provider", "info", "x"}}) {
    auto r = box.run(args);
    EXPECT_EQ(r.exit, 3) << r.all();
    EXPECT_TRUE(contains(r.err, "Custom provider 'x' not found; known: a, b")) << r.err;
  }
  auto nothing = box.run({"provider", "update", "a"});
  EXPECT_EQ(nothing.exit, 2);
  EXPECT_TRUE(contains(nothing.err, "nothing to change")) << nothing.err;
}

TEST(CliProvider, InfoRedactsSecretsToTheirLastFourCharacters) {
  Sandbox box;
  write_text(box.store_file(),
             "providers:\n"
             "  lit:\n"
             "    base_url: http://127.0.0.1:9\n"
             "    api_key: sk-literal-secret-9876\n"
             "    headers:\n"
             "      X-Api-Token: tok-secret-value-4321\n"
             "      X-Plain: visible\n");
  auto info = box.run({"provider", "info", "lit"});
  ASSERT_EQ(info.exit, 0) << info.all();
  EXPECT_FALSE(contains(info.all(), "sk-literal-secret")) << info.out;
  EXPECT_FALSE(contains(info.all(), "tok-secret-value")) << info.out;
  EXPECT_TRUE(contains(info.out, "API key:        file (****9876)")) << info.out;
  EXPECT_TRUE(contains(info.out, "X-Api-Token: ****4321")) << info.out;
  EXPECT_TRUE(contains(info.out, "X-Plain: visible")) << info.out;
  auto json = box.run({"provider", "list", "--json"});
  EXPECT_FALSE(contains(json.out, "secret")) << json.out;
}

}  // namespace
namespace {

TEST(CliProvider, PricesPerMillionTokensAndOnePriceGivenTwiceIsRefused) {
  Sandbox box;
  auto add = box.run({"provider", "add", "lab", "http://127.0.0.1:9/v1", "--model", "m", "--price-input-per-mtok", "3",
                      "--price-output-per-mtok", "15", "--price-cached-input-per-mtok", "0.3",
                      "--price-cache-write-per-mtok", "3.75", "--price-reasoning-per-mtok", "20"});
  ASSERT_EQ(add.exit, 0) << add.all();
  std::string file = read_text(box.store_file());
  EXPECT_TRUE(contains(file, "cached_input_per_mtok: 0.3")) << file;
  auto pricing = bjson::parse(box.run({"provider", "info", "lab", "--json"}).out).at("models").as_array()[0].at("pricing");
  EXPECT_EQ(pricing.at("input_per_mtok"), 3.0);
  EXPECT_EQ(pricing.at("cache_write_per_mtok"), 3.75);
  EXPECT_EQ(pricing.at("reasoning_per_mtok"), 20.0);
  // Switching spelling replaces the other one instead of leaving both in the file.
  ASSERT_EQ(box.run({"provider", "update", "lab", "--model", "m", "--price-input", "0.002"}).exit, 0);
  file = read_text(box.store_file());
  EXPECT_FALSE(contains(file, "input_per_mtok: 3")) << file;
  EXPECT_EQ(bjson::parse(box.run({"provider", "info", "lab", "--json"}).out).at("models").as_array()[0].at("pricing").at("input_per_mtok"), 2.0);

  auto both = box.run({"provider", "add", "lab2", "http://127.0.0.1:9/v1", "--model", "m", "--price-output", "0.001",
                       "--price-output-per-mtok", "1"});
  EXPECT_EQ(both.exit, 2);
  EXPECT_TRUE(contains(both.err, "--price-output (USD per 1K tokens) and --price-output-per-mtok (USD per 1M tokens) set the same price"))
      << both.all();
}

}  // namespace
}  // namespace llmux::test
