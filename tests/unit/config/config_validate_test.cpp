// validate_config on configs built in code: the same rules as for loaded files.
#include <gtest/gtest.h>

#include "config_test_util.hpp"
#include "llmux/config.hpp"

namespace llmux {
namespace {

using config_test::formatted;
using Strings = std::vector<std::string>;

ProviderConfig provider(std::string id) {
  ProviderConfig p;
  p.id = std::move(id);
  p.name = p.id;
  p.base_url = "https://api.example.com/v1";
  p.api_key = Secret("sk-code-built-secret");
  return p;
}

TEST(ConfigValidateTest, AValidCodeBuiltConfigHasNoErrors) {
  GatewayConfig config;
  config.providers.push_back(provider("a"));
  auto b = provider("b");
  b.models = {{"m1", "m1", "M1", {"one"}, 1000, {500'000, 1'500'000}}, {"m2", "up/m2", "M2", {}, {}, {}}};
  b.default_model = "one";
  b.default_params_json = R"({"temperature":0.1})";
  b.auth = AuthStyle::header;
  b.auth_header = "X-API-Key";
  b.headers = {{"X-Org", "{api_key}"}};
  config.providers.push_back(b);
  config.master_key = Secret("mk");
  config.api_keys = {Secret("k1")};
  EXPECT_EQ(formatted(validate_config(config)), Strings{});
}

TEST(ConfigValidateTest, ReportsEveryProblemWithIndexPaths) {
  GatewayConfig config;
  config.source_file = "built-in";
  config.server.host = "";
  config.server.threads = -1;
  config.server.max_body_bytes = 0;
  config.server.shutdown_grace = std::chrono::milliseconds(-1);
  config.master_key = Secret("");
  config.api_keys = {Secret("ok"), Secret("")};

  auto a = provider("a");
  a.type = "bedrock";
  a.base_url = "https://api.example.com/v1?x=1";
  a.timeout = std::chrono::milliseconds(-5);
  a.max_retries = -1;
  a.default_params_json = "[1]";
  auto dup = provider("a");
  dup.base_url = "";
  dup.type = "groq";  // an alias is fine in a file, but the struct holds the canonical name
  auto bad = provider("has space");
  bad.auth = AuthStyle::header;
  bad.auth_header = "";
  bad.headers = {{"X-Ok", "line\r\nX-Evil: 1"}, {"x-ok", "again"}, {"", "v"}};
  bad.models = {{"m", "m", "m", {}, 0, {-1, 0}}, {"", "", "", {"m"}, {}, {}}};
  bad.default_model = "zzz";
  config.providers = {a, dup, bad};

  EXPECT_EQ(formatted(validate_config(config)),
            (Strings{
                "built-in: server.host: must not be empty",
                "built-in: server.threads: must not be negative",
                "built-in: server.max_body_size: must be greater than 0",
                "built-in: server.shutdown_grace: must not be negative",
                "built-in: master_key: must not be empty",
                "built-in: api_keys[1]: must not be empty",
                "built-in: providers[0].type: unknown provider type \"bedrock\"; known types: "
                "openai-compatible (also written as openai custom vllm lmstudio together "
                "groq openrouter mistral deepseek fireworks xai perplexity anyscale huggingface tgi "
                "localai jan llamafile), anthropic (also written as claude), "
                "gemini, azure-openai (also written as azure), ollama (Ollama's native API), cohere, aws-bedrock, vertex-ai",
                "built-in: providers[0].base_url: URL must not contain a query string (\"?...\")",
                "built-in: providers[0].default_params: must be a JSON object",
                "built-in: providers[0].timeout: must not be negative",
                "built-in: providers[0].max_retries: must not be negative",
                "built-in: providers[1].id: duplicate provider id \"a\" (first defined as "
                "providers[0])",
                "built-in: providers[1].type: type must be written as \"openai-compatible\"",
                "built-in: providers[1].base_url: base_url is required",
                "built-in: providers[2].id: provider id \"has space\" may only contain letters, "
                "digits, '.', '_' and '-'",
                "built-in: providers[2].auth_header: must be a header name such as api-key or "
                "X-API-Key",
                "built-in: providers[2].headers.X-Ok: header value must not contain line breaks",
                "built-in: providers[2].headers.x-ok: header \"x-ok\" is given twice",
                "built-in: providers[2].headers.: invalid header name \"\"",
                "built-in: providers[2].models[0].context_window: must be greater than 0",
                "built-in: providers[2].models[0].pricing.input: must be a number >= 0",
                "built-in: providers[2].models[1].id: a model needs an id",
                "built-in: providers[2].models[1].aliases[0]: \"m\" is already used by model "
                "\"m\"",
                "built-in: providers[2].default_model: \"zzz\" is not one of this provider's "
                "models (m, )",
            }));
}

TEST(ConfigValidateTest, UsesTheProviderSourceWhenKnown) {
  GatewayConfig config;
  config.source_file = "main.yaml";
  auto a = provider("a");
  a.source = {"other.yaml", 7, "providers.a"};
  auto b = provider("a");
  b.source = {"other.yaml", 12, "providers.a"};
  b.max_retries = -3;
  config.providers = {a, b};
  EXPECT_EQ(formatted(validate_config(config)),
            (Strings{
                "other.yaml:12: providers.a.id: duplicate provider id \"a\" (first defined at "
                "line 7)",
                "other.yaml:12: providers.a.max_retries: must not be negative",
            }));
}

TEST(ConfigValidateTest, SecretsAreNotInMessages) {
  GatewayConfig config;
  auto p = provider("p");
  p.api_key = Secret("sk-topsecret\n");
  config.providers = {p};
  auto errors = formatted(validate_config(config));
  ASSERT_EQ(errors, Strings{"<config>: providers[0].api_key: must not contain line breaks or "
                            "control characters"});
}

}  // namespace
}  // namespace llmux
