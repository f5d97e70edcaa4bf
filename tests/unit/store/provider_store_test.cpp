// The provider store: edits touch only the changed provider's text, are validated before writing,
// keep ${VAR} references and hand-written spellings, and keep strings strings.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "store/provider_edit.hpp"
#include "store/provider_store.hpp"

namespace llmux::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/llmux-store-XXXXXX";
    dir_ = ::mkdtemp(path);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return dir_ + "/providers.yaml"; }
  std::string read() const {
    std::ifstream in(path());
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void write(const std::string& text) const { std::ofstream(path()) << text; }

  static YAML::Node edited(const ProviderEdit& e, YAML::Node node = YAML::Node(YAML::NodeType::Map)) {
    apply_edit(node, e);
    return node;
  }

  std::string dir_;
};

TEST_F(StoreTest, FirstAddCreatesAHumanReadableFile) {
  ProviderStore store(path());
  ASSERT_TRUE(store.load());
  EXPECT_FALSE(store.exists());
  ProviderEdit e;
  e.base_url = "http://localhost:11434/v1";
  e.add_models = {"llama3.2"};
  e.headers = {"X-Custom: v"};
  e.api_key_env = "OLLAMA_KEY";
  auto written = store.put("ollama", edited(e));
  ASSERT_TRUE(written) << written.error().messages[0];
  EXPECT_EQ(read(), std::string(kStoreHeader) +
                        "providers:\n"
                        "  ollama:\n"
                        "    base_url: http://localhost:11434/v1\n"
                        "    api_key: ${OLLAMA_KEY}\n"
                        "    headers:\n"
                        "      X-Custom: v\n"
                        "    models:\n"
                        "      - llama3.2\n"
                        "    default_model: llama3.2\n");
  ASSERT_EQ(written->size(), 1u);  // OLLAMA_KEY is not set here: a warning, not a failure
  EXPECT_NE((*written)[0].find("OLLAMA_KEY is not set"), std::string::npos);
}

TEST_F(StoreTest, EditsReplaceOnlyTheChangedProvidersText) {
  const std::string hand =
      "# top comment\n"
      "providers:\n"
      "    # about a\n"
      "    a:\n"
      "        base_url: http://a   # inline comment\n"
      "        models: [x]\n"
      "\n"
      "    # about b\n"
      "    b:\n"
      "        base_url: http://b\n"
      "\n"
      "    c: {base_url: 'http://c'}\n";
  write(hand);
  ProviderStore store(path());
  ASSERT_TRUE(store.load());
  ProviderEdit e;
  e.timeout = "5s";
  ASSERT_TRUE(store.put("b", edited(e, YAML::Clone(store.find("b")->node))));
  EXPECT_EQ(read(),
            "# top comment\n"
            "providers:\n"
            "    # about a\n"
            "    a:\n"
            "        base_url: http://a   # inline comment\n"
            "        models: [x]\n"
            "\n"
            "    # about b\n"
            "    b:\n"
            "      base_url: http://b\n"
            "      timeout: 5s\n"
            "\n"
            "    c: {base_url: 'http://c'}\n");

  ASSERT_TRUE(store.remove("a"));
  EXPECT_EQ(read().find("    a:"), std::string::npos);
  EXPECT_NE(read().find("# about b"), std::string::npos);
  ProviderEdit add;
  add.base_url = "http://d";
  ASSERT_TRUE(store.put("d", edited(add)));
  EXPECT_NE(read().find("    c: {base_url: 'http://c'}\n    d:\n      base_url: http://d\n"), std::string::npos) << read();
  EXPECT_EQ(store.ids(), (std::vector<std::string>{"b", "c", "d"}));
}

TEST_F(StoreTest, AnInvalidResultIsRefusedAndNothingIsWritten) {
  write("providers:\n  a:\n    base_url: http://a\n    models: [m]\n");
  ProviderStore store(path());
  ASSERT_TRUE(store.load());
  ProviderEdit e;
  e.default_model = "other";
  auto r = store.put("a", edited(e, YAML::Clone(store.find("a")->node)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, FailKind::invalid);
  EXPECT_NE(r.error().messages[0].find("providers.a.default_model"), std::string::npos) << r.error().messages[0];
  EXPECT_EQ(read(), "providers:\n  a:\n    base_url: http://a\n    models: [m]\n");

  // Other top-level settings do not belong in the store.
  write("server: {port: 1}\nproviders:\n  a:\n    base_url: http://a\n");
  ASSERT_TRUE(store.load());
  auto shaped = store.configs(false);
  ASSERT_FALSE(shaped);
  EXPECT_NE(format_config_error(shaped.error()[0]).find("only `providers` belongs"), std::string::npos);
}

TEST_F(StoreTest, StringsThatLookLikeOtherTypesStayStrings) {
  ProviderStore store(path());
  ASSERT_TRUE(store.load());
  ProviderEdit e;
  e.base_url = "http://h";
  e.add_models = {"1.5", "true", "null", "7b"};
  e.headers = {"X-Flag:true", "X-Num: 0012"};
  ASSERT_TRUE(store.put("p", edited(e)));
  auto config = store.configs(true);
  ASSERT_TRUE(config);
  const auto& p = config->providers.at(0);
  ASSERT_EQ(p.models.size(), 4u);
  EXPECT_EQ(p.models[0].id, "1.5");
  EXPECT_EQ(p.models[1].id, "true");
  EXPECT_EQ(p.models[2].id, "null");
  EXPECT_EQ(p.models[3].id, "7b");
  EXPECT_EQ(p.headers[0].value, "true");
  EXPECT_EQ(p.headers[1].value, "0012");
  EXPECT_NE(read().find("- 7b\n"), std::string::npos) << "quoted only when needed: " << read();
}

TEST_F(StoreTest, OtherLayoutsAreRewrittenInMapStyle) {
  write("[{\"id\": \"a\", \"baseUrl\": \"http://a\"}, {\"id\": \"b\", \"baseUrl\": \"http://b\"}]\n");
  ProviderStore store(path());
  ASSERT_TRUE(store.load());
  EXPECT_EQ(store.ids(), (std::vector<std::string>{"a", "b"}));
  ProviderEdit e;
  e.enabled = false;
  ASSERT_TRUE(store.put("b", edited(e, YAML::Clone(store.find("b")->node))));
  std::string text = read();
  EXPECT_NE(text.find("providers:\n  a:\n    baseUrl: http://a\n  b:\n    baseUrl: http://b\n    enabled: false\n"),
            std::string::npos)
      << text;
  auto config = store.configs(true);
  ASSERT_TRUE(config);
  EXPECT_FALSE(config->providers[1].enabled);
}

TEST_F(StoreTest, UnsetVariablesAreLenientOnRequest) {
  write("providers:\n  a:\n    base_url: http://a\n    api_key: ${LLMUX_UNIT_SURELY_UNSET}\n");
  ProviderStore store(path());
  ASSERT_TRUE(store.load());
  auto strict = store.configs(true);
  ASSERT_FALSE(strict);
  EXPECT_NE(strict.error()[0].message.find("LLMUX_UNIT_SURELY_UNSET is not set"), std::string::npos);
  auto lenient = store.configs(false);
  ASSERT_TRUE(lenient);
  EXPECT_TRUE(lenient->providers[0].api_key.empty());
  EXPECT_EQ(unset_refs(store.find("a")->node), std::vector<std::string>{"LLMUX_UNIT_SURELY_UNSET"});
  EXPECT_EQ(soften_unset_refs("a ${LLMUX_UNIT_SURELY_UNSET} $${LITERAL} ${HOME} ${X:-d}"),
            "a ${LLMUX_UNIT_SURELY_UNSET:-} $${LITERAL} ${HOME} ${X:-d}");
}

TEST(ProviderEdit, ChecksArgumentsWithExactMessages) {
  ProviderEdit e;
  e.base_url = "localhost:8080";
  e.type = "weird";
  e.headers = {"NoColon", "X-A:ok\r\nX-B: injected", "Bad Name:v"};
  e.auth_type = "magic";
  e.api_key_env = "1BAD";
  e.context_window = 0;
  e.price_input = -1;
  e.timeout = "soon";
  auto r = check_edit(e, true);
  ASSERT_FALSE(r);
  const auto& m = r.error().messages;
  auto has = [&](const std::string& text) {
    return std::any_of(m.begin(), m.end(), [&](const std::string& s) { return s.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has("invalid URL \"localhost:8080\": URL must start with http:// or https://"));
  EXPECT_TRUE(has("unknown provider type \"weird\""));
  EXPECT_TRUE(has("invalid header \"NoColon\": expected NAME:VALUE"));
  EXPECT_TRUE(has("header \"X-A\" contains a line break (CR/LF): refused"));
  EXPECT_TRUE(has("invalid header name \"Bad Name\""));
  EXPECT_TRUE(has("unknown auth type \"magic\""));
  EXPECT_TRUE(has("invalid variable name \"1BAD\""));
  EXPECT_TRUE(has("--context-window must be greater than 0"));
  EXPECT_TRUE(has("--price-input must be a number >= 0"));
  EXPECT_TRUE(has("invalid --timeout"));
  EXPECT_TRUE(has("describe models: add --model M"));
  EXPECT_EQ(m.size(), 11u);
}

TEST(ProviderEdit, AppliesModelsPricesHeadersAndAuth) {
  YAML::Node p = YAML::Load("baseUrl: http://h\nmodels: [a, {id: b, input_price: 1}]\ndefault_model: a\n"
                            "customHeaders: {x-org: one}\nauth_header: X-Key\n");
  ProviderEdit e;
  e.add_models = {"b", "c"};
  e.remove_models = {"a"};
  e.context_window = 4096;
  e.price_input = 0.25;
  e.headers = {"X-Org: two", "X-New:3"};
  e.auth_type = "bearer";
  apply_edit(p, e);
  EXPECT_EQ(p["default_model"].Scalar(), "b") << "the removed default falls back to the first model left";
  ASSERT_EQ(p["models"].size(), 2u);
  EXPECT_EQ(p["models"][0]["id"].Scalar(), "b");
  EXPECT_EQ(p["models"][0]["context_window"].Scalar(), "4096");
  EXPECT_EQ(p["models"][0]["pricing"]["input"].Scalar(), "0.25");
  EXPECT_FALSE(p["models"][0]["input_price"]) << "the flat price key would clash with pricing.input";
  EXPECT_EQ(p["models"][1]["id"].Scalar(), "c");
  EXPECT_EQ(p["customHeaders"]["x-org"].Scalar(), "two") << "headers match case-insensitively, spelling kept";
  EXPECT_EQ(p["customHeaders"]["X-New"].Scalar(), "3");
  EXPECT_FALSE(p["headers"]);
  EXPECT_FALSE(p["auth_header"]) << "a bearer key needs no auth_header";
  EXPECT_EQ(p["baseUrl"].Scalar(), "http://h");
}

}  // namespace
}  // namespace llmux::store

namespace llmux::store {
namespace {

TEST_F(StoreTest, ConcurrentEditsDoNotLoseEachOther) {
  std::vector<std::thread> writers;
  for (int i = 0; i < 8; ++i) {
    writers.emplace_back([this, i] {
      DirLock lock(dir_);
      ProviderStore store(path());
      ASSERT_TRUE(store.load());
      ProviderEdit e;
      e.base_url = "http://h" + std::to_string(i);
      YAML::Node node(YAML::NodeType::Map);
      apply_edit(node, e);
      ASSERT_TRUE(store.put("p" + std::to_string(i), node));
    });
  }
  for (auto& w : writers) w.join();
  ProviderStore store(path());
  ASSERT_TRUE(store.load());
  EXPECT_EQ(store.ids().size(), 8u) << read();
}

}  // namespace
}  // namespace llmux::store
