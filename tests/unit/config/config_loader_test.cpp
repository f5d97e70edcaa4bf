// load_config_text / load_config_file: both shapes, key spellings, env expansion, typing, errors.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "config_test_util.hpp"
#include "llmux/config.hpp"

namespace llmux {
namespace {

using config_test::dump;
using config_test::load_errors;
using config_test::load_ok;
using Strings = std::vector<std::string>;

class ConfigLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("LLMUX_CFG_L_TOGETHER", "tg-secret-key", 1);
    setenv("LLMUX_CFG_L_ORG", "org-42", 1);
    unsetenv("LLMUX_CFG_L_UNSET");
  }
  void TearDown() override {
    unsetenv("LLMUX_CFG_L_TOGETHER");
    unsetenv("LLMUX_CFG_L_ORG");
  }
};

// ---- shapes ---------------------------------------------------------------------------------

TEST_F(ConfigLoaderTest, MapStyleProvider) {
  auto config = load_ok(R"(providers:
  together:
    base_url: "https://api.together.xyz/v1"
    api_key: "${LLMUX_CFG_L_TOGETHER}"
    timeout: "60s"
    max_retries: 3
    custom_headers: { X-Organization-ID: "${LLMUX_CFG_L_ORG}" }
)");
  ASSERT_EQ(config.providers.size(), 1u);
  const ProviderConfig& p = config.providers[0];
  EXPECT_EQ(p.id, "together");
  EXPECT_EQ(p.name, "together");
  EXPECT_EQ(p.type, "openai-compatible");
  EXPECT_EQ(p.base_url, "https://api.together.xyz/v1");
  EXPECT_EQ(p.api_key.reveal(), "tg-secret-key");
  EXPECT_EQ(p.auth, AuthStyle::bearer);
  EXPECT_EQ(p.timeout, std::chrono::milliseconds(60000));
  EXPECT_EQ(p.max_retries, 3);
  ASSERT_EQ(p.headers.size(), 1u);
  EXPECT_EQ(p.headers[0].name, "X-Organization-ID");
  EXPECT_EQ(p.headers[0].value, "org-42");
  EXPECT_EQ(p.source.file, "cfg.yaml");
  EXPECT_EQ(p.source.line, 2);
  EXPECT_EQ(p.source.key_path, "providers.together");
  EXPECT_EQ(config.source_file, "cfg.yaml");
}

constexpr const char* kListStyleJson = R"([
  {
    "id": "ollama",
    "name": "Ollama Local",
    "type": "openai-compatible",
    "baseUrl": "http://localhost:11434/v1",
    "apiKey": "not-needed",
    "models": [
      { "id": "llama3.1", "name": "Llama 3.1 8B", "contextWindow": 32768,
        "pricing": { "input": 0, "output": 0 } },
      "qwen2.5"
    ],
    "headers": { "Authorization": "Bearer {api_key}" },
    "enabled": true,
    "priority": 1,
    "timeout": 60000,
    "maxRetries": 3,
    "defaultModel": "llama3.1",
    "defaultParams": { "temperature": 0.2 }
  }
])";

TEST_F(ConfigLoaderTest, ListStyleJson) {
  auto config = load_ok(kListStyleJson, "providers.json");
  ASSERT_EQ(config.providers.size(), 1u);
  const ProviderConfig& p = config.providers[0];
  EXPECT_EQ(p.id, "ollama");
  EXPECT_EQ(p.name, "Ollama Local");
  EXPECT_EQ(p.base_url, "http://localhost:11434/v1");
  EXPECT_EQ(p.api_key.reveal(), "not-needed");
  ASSERT_EQ(p.models.size(), 2u);
  EXPECT_EQ(p.models[0].id, "llama3.1");
  EXPECT_EQ(p.models[0].upstream_id, "llama3.1");
  EXPECT_EQ(p.models[0].name, "Llama 3.1 8B");
  EXPECT_EQ(p.models[0].context_window, 32768);
  EXPECT_EQ(p.models[0].prices.input, 0);
  EXPECT_EQ(p.models[1].id, "qwen2.5");
  EXPECT_EQ(p.models[1].name, "qwen2.5");
  EXPECT_FALSE(p.models[1].context_window);
  ASSERT_EQ(p.headers.size(), 1u);
  EXPECT_EQ(p.headers[0].value, "Bearer {api_key}");  // substituted later, per request
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.priority, 1);
  EXPECT_EQ(p.timeout.count(), 60000);
  EXPECT_EQ(p.max_retries, 3);
  EXPECT_EQ(p.default_model, "llama3.1");
  EXPECT_EQ(p.default_params_json, R"({"temperature":0.2})");
  EXPECT_EQ(p.source.file, "providers.json");
  EXPECT_EQ(p.source.line, 2);  // the line of its "{"
  EXPECT_EQ(p.source.key_path, "providers[0]");
}

// Product docs show each provider as a standalone object; pasted into a file it is a list of one.
TEST_F(ConfigLoaderTest, ASingleProviderObjectIsAListOfOne) {
  std::string json = kListStyleJson;
  json = json.substr(json.find('{'), json.rfind('}') - json.find('{') + 1);
  auto from_json = load_ok(json, "together.json");
  auto from_list = load_ok(kListStyleJson, "together.json");
  ASSERT_EQ(from_json.providers.size(), 1u);
  EXPECT_EQ(config_test::dump(from_json.providers[0]), config_test::dump(from_list.providers[0]));
  EXPECT_EQ(from_json.providers[0].source.line, 1);

  auto from_yaml = load_ok("id: together\nbaseUrl: https://api.together.xyz/v1\napiKey: ${LLMUX_CFG_L_TOGETHER}\n"
                           "models: [mixtral]\n");
  ASSERT_EQ(from_yaml.providers.size(), 1u);
  EXPECT_EQ(from_yaml.providers[0].id, "together");
  EXPECT_EQ(from_yaml.providers[0].base_url, "https://api.together.xyz/v1");
  EXPECT_EQ(from_yaml.providers[0].api_key.reveal(), "tg-secret-key");
  EXPECT_EQ(from_yaml.providers[0].models.at(0).id, "mixtral");

  // Its errors name the keys as written, without a "providers" the file does not have.
  EXPECT_EQ(load_errors("id: together\nbaseUrl: ftp://x\ntimout: 5s\n"),
            (Strings{"cfg.yaml:2:10: baseUrl: unsupported URL scheme \"ftp\" (use http:// or https://)",
                     "cfg.yaml:3:1: timout: unknown key \"timout\" (did you mean \"timeout\"?)"}));
  EXPECT_EQ(load_errors("{\"id\": \"together\", \"apiKey\": \"k\"}"),
            Strings{"cfg.yaml:1:1: base_url: base_url is required"});
}

// api_keys are the gateway's own credentials, a provider's api_key its upstream one: a key of
// one meaning is never offered as the correction of the other.
TEST_F(ConfigLoaderTest, AKeyOfAnotherScopeIsNeverSuggestedAsATypoFix) {
  auto top = load_errors("apiKey: sk-upstream\nproviders: {p: {base_url: 'http://h'}}\n");
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0],
            "cfg.yaml:1:1: apiKey: unknown key \"apiKey\" here: \"apiKey\" is a provider setting, which belongs "
            "inside a provider (providers: {ID: {...}}), not at the top level of the file");
  EXPECT_EQ(top[0].find("apiKeys"), std::string::npos);
  EXPECT_EQ(top[0].find("sk-upstream"), std::string::npos);
  // Near misses too: "apiKye" is as close to a provider's apiKey as to apiKeys.
  auto near = load_errors("apiKye: x\nproviders: {}\n");
  ASSERT_EQ(near.size(), 1u);
  EXPECT_NE(near[0].find("did you mean \"apiKey\"? that is a provider setting, which belongs inside a provider"),
            std::string::npos)
      << near[0];
  EXPECT_EQ(near[0].find("apiKeys"), std::string::npos) << near[0];
  // The other way round: the gateway's keys inside a provider are not its api_key.
  auto inside = load_errors("providers:\n  p:\n    base_url: http://h\n    api_keys: [a]\n");
  ASSERT_EQ(inside.size(), 1u);
  EXPECT_EQ(inside[0],
            "cfg.yaml:4:5: providers.p.api_keys: unknown key \"api_keys\" here: \"api_keys\" is a top-level "
            "setting, which belongs at the top level of the file, not inside a provider (providers: {ID: {...}})");
  EXPECT_EQ(load_errors("port: 80\nproviders: {}\n"),
            Strings{"cfg.yaml:1:1: port: unknown key \"port\" here: \"port\" is a server setting, which belongs "
                    "under server:, not at the top level of the file"});
}

TEST_F(ConfigLoaderTest, AllShapesOfTheSameProviderAreEqual) {
  auto map_style = load_ok(R"(providers:
  groq:
    name: Groq
    type: groq
    base_url: https://api.groq.com/openai/v1/
    api_key: ${LLMUX_CFG_L_TOGETHER}
    models:
      - id: llama-3.3-70b
        aliases: [llama70]
        context_window: 131072
        pricing: {input: 0.59, output: 0.79}
      - mixtral
    default_model: llama70
    timeout: 30s
)");
  auto list_in_key = load_ok(R"(providers:
  - id: groq
    name: Groq
    type: openai-compatible
    baseUrl: https://api.groq.com/openai/v1
    apiKey: ${LLMUX_CFG_L_TOGETHER}
    models:
      - {id: llama-3.3-70b, aliases: [llama70], contextWindow: 131072, inputPrice: 0.59,
         outputPrice: 0.79}
      - {id: mixtral}
    defaultModel: llama70
    timeout: 30000
)");
  auto top_level_list = load_ok(R"([{"id": "groq", "name": "Groq", "type": "openai",
  "base_url": "https://api.groq.com/openai/v1", "api_key": "tg-secret-key",
  "models": [{"id": "llama-3.3-70b", "aliases": ["llama70"], "context_window": 131072,
              "pricing": {"input": 0.59, "output": 0.79}}, "mixtral"],
  "default_model": "llama70", "timeout": "30s"}])");
  ASSERT_EQ(map_style.providers.size(), 1u);
  ASSERT_EQ(list_in_key.providers.size(), 1u);
  ASSERT_EQ(top_level_list.providers.size(), 1u);
  std::string expected =
      "id=groq name=Groq type=openai-compatible url=https://api.groq.com/openai/v1 "
      "key=tg-secret-key auth=0 auth_header=Authorization headers= "
      "models={llama-3.3-70b,llama-3.3-70b,llama-3.3-70b,[llama70;],131072,590000000,790000000,-1,-1,-1}"
      "{mixtral,mixtral,mixtral,[],-1,0,0,-1,-1,-1} default_model=llama70 params= enabled=1 priority=0 "
      "timeout=30000 retries=2";
  EXPECT_EQ(dump(map_style.providers[0]), expected);
  EXPECT_EQ(dump(list_in_key.providers[0]), expected);
  EXPECT_EQ(dump(top_level_list.providers[0]), expected);
}

TEST_F(ConfigLoaderTest, SnakeAndCamelCaseKeysAreEquivalent) {
  auto snake = load_ok(R"(server: {host: 0.0.0.0, port: 8080, threads: 4, max_body_size: 1MB,
  shutdown_grace: 2s}
master_key: mk-1
api_keys: [k1, k2]
state_dir: /var/lib/llmux
providers:
  - id: p
    base_url: http://h:1
    api_key: k
    auth_type: api-key
    auth_header: X-Key
    custom_headers: {A: b}
    default_model: m2
    default_params: {top_p: 1}
    max_retries: 0
    models:
      - {id: m, upstream_id: org/m, context_window: 10, input_price: 1, output_price: 2}
      - {id: m2, upstream: org/m2}
)");
  auto camel = load_ok(R"(server: {host: 0.0.0.0, port: 8080, threads: 4, maxBodySize: 1MB,
  shutdownGrace: 2s}
masterKey: mk-1
apiKeys: [k1, k2]
stateDir: /var/lib/llmux
providers:
  - id: p
    baseUrl: http://h:1
    apiKey: k
    authType: api-key
    authHeader: X-Key
    customHeaders: {A: b}
    defaultModel: m2
    defaultParams: {top_p: 1}
    maxRetries: 0
    models:
      - {id: m, upstreamId: org/m, contextWindow: 10, inputPrice: 1, outputPrice: 2}
      - {id: m2, upstream: org/m2}
)");
  for (const GatewayConfig* c : {&snake, &camel}) {
    EXPECT_EQ(c->server.host, "0.0.0.0");
    EXPECT_EQ(c->server.port, 8080);
    EXPECT_EQ(c->server.threads, 4);
    EXPECT_EQ(c->server.max_body_bytes, 1000000u);
    EXPECT_EQ(c->server.shutdown_grace.count(), 2000);
    ASSERT_TRUE(c->master_key);
    EXPECT_EQ(c->master_key->reveal(), "mk-1");
    ASSERT_EQ(c->api_keys.size(), 2u);
    EXPECT_EQ(c->api_keys[1].reveal(), "k2");
    EXPECT_EQ(c->state_dir, "/var/lib/llmux");
    ASSERT_EQ(c->providers.size(), 1u);
  }
  std::string expected =
      "id=p name=p type=openai-compatible url=http://h:1/v1 key=k auth=1 auth_header=X-Key "
      "headers=A:b; models={m,org/m,m,[],10,1000000000,2000000000,-1,-1,-1}{m2,org/m2,m2,[],-1,0,0,-1,-1,-1} default_model=m2 "
      "params={\"top_p\":1} enabled=1 priority=0 timeout=60000 retries=0";
  EXPECT_EQ(dump(snake.providers[0]), expected);
  EXPECT_EQ(dump(camel.providers[0]), expected);
}

TEST_F(ConfigLoaderTest, EmptyOrCommentOnlyTextIsAnEmptyConfig) {
  for (const char* text : {"", "# nothing yet\n", "providers:\n", "providers: []\n", "{}"}) {
    auto config = load_ok(text);
    EXPECT_TRUE(config.providers.empty()) << text;
    EXPECT_EQ(config.server.port, 4000) << text;
    EXPECT_FALSE(config.master_key) << text;
  }
}

TEST_F(ConfigLoaderTest, ServerDefaultsAndSizes) {
  auto config = load_ok("server:\n  max_body_size: 512KiB\n");
  EXPECT_EQ(config.server.host, "127.0.0.1");
  EXPECT_EQ(config.server.port, 4000);
  EXPECT_EQ(config.server.max_body_bytes, 512u * 1024);
  EXPECT_EQ(config.server.shutdown_grace.count(), 10000);
  EXPECT_EQ(load_ok("server: {max_body_size: 10MiB}").server.max_body_bytes, 10u << 20);
  EXPECT_EQ(load_ok("server: {max_body_size: 2048}").server.max_body_bytes, 2048u);
  EXPECT_EQ(load_ok("server: {port: 0}").server.port, 0);
  EXPECT_EQ(load_ok("server: {port: 65535}").server.port, 65535);
}

TEST_F(ConfigLoaderTest, UpstreamResponseLimitAndIdleTimeout) {
  auto defaults = load_ok("server: {}");
  EXPECT_EQ(defaults.server.max_response_bytes, 64u << 20);
  EXPECT_EQ(defaults.server.upstream_idle_timeout.count(), 30000);
  auto set = load_ok("server:\n  max_response_size: 2MiB\n  upstream_idle_timeout: 5s\n");
  EXPECT_EQ(set.server.max_response_bytes, 2u << 20);
  EXPECT_EQ(set.server.upstream_idle_timeout.count(), 5000);
  EXPECT_EQ(load_ok("server: {maxResponseSize: 1000, upstreamIdleTimeout: 250ms}").server.max_response_bytes, 1000u);
  EXPECT_EQ(load_errors("server:\n  max_response_size: lots\n"),
            (Strings{"cfg.yaml:2:22: server.max_response_size: invalid size \"lots\" (use a number of bytes or e.g. "
                     "512KiB, 10MiB, 1MB)"}));
}

TEST_F(ConfigLoaderTest, ProviderDefaults) {
  auto config = load_ok("providers:\n  local:\n    base_url: http://localhost:8000\n");
  const ProviderConfig& p = config.providers.at(0);
  EXPECT_EQ(p.name, "local");
  EXPECT_EQ(p.base_url, "http://localhost:8000/v1");
  EXPECT_TRUE(p.api_key.empty());
  EXPECT_EQ(p.auth, AuthStyle::none);  // no key, no credential
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.priority, 0);
  EXPECT_EQ(p.timeout.count(), 60000);
  EXPECT_EQ(p.max_retries, 2);
  EXPECT_TRUE(p.models.empty());
  EXPECT_EQ(p.default_params_json, "");
}

TEST_F(ConfigLoaderTest, ProviderTypeAliasesAndFlags) {
  auto config = load_ok(R"(providers:
  a: {base_url: "http://a", type: ollama, enabled: false, priority: -1}
  b: {base_url: "http://b", type: LMStudio, enabled: "true", priority: 7}
)");
  ASSERT_EQ(config.providers.size(), 2u);
  EXPECT_EQ(config.providers[0].type, "ollama");  // the native API (its /v1 is openai-compatible)
  EXPECT_FALSE(config.providers[0].enabled);
  EXPECT_EQ(config.providers[0].priority, -1);
  EXPECT_EQ(config.providers[1].type, "openai-compatible");
  EXPECT_TRUE(config.providers[1].enabled);
  EXPECT_EQ(config.providers[1].priority, 7);
}

TEST_F(ConfigLoaderTest, AnthropicDefaultsToItsApiAndKeyHeader) {
  auto config = load_ok(R"(providers:
  claude: {type: anthropic, api_key: sk-ant-1}
  proxy: {type: claude, base_url: "http://127.0.0.1:9/v1", api_key: k, auth_type: bearer}
)");
  const ProviderConfig& claude = config.providers.at(0);
  EXPECT_EQ(claude.type, "anthropic");
  EXPECT_EQ(claude.base_url, "https://api.anthropic.com/v1");
  EXPECT_EQ(claude.auth, AuthStyle::header);
  EXPECT_EQ(claude.auth_header, "x-api-key");
  const ProviderConfig& proxy = config.providers.at(1);
  EXPECT_EQ(proxy.type, "anthropic");
  EXPECT_EQ(proxy.base_url, "http://127.0.0.1:9/v1");
  EXPECT_EQ(proxy.auth, AuthStyle::bearer);  // an explicit auth_type wins
}

TEST_F(ConfigLoaderTest, ResumePrefillOnProvidersAndDeployments) {
  auto c = load_ok(
      "router: {max_resumes: 3}\n"
      "providers:\n  a: {base_url: 'http://a/v1', resume: prefill, models: [m]}\n"
      "  b: {base_url: 'http://b/v1', models: [m]}\n"
      "models:\n  chat:\n    deployments:\n      - {provider: a, model: m, resume: none}\n"
      "      - {provider: b, model: m, resume: prefill}\n");
  EXPECT_EQ(c.router.max_resumes, 3);
  ASSERT_EQ(c.providers.size(), 2u);
  EXPECT_TRUE(c.providers[0].resume_prefill);
  EXPECT_FALSE(c.providers[1].resume_prefill);
  ASSERT_EQ(c.models.size(), 1u);
  EXPECT_EQ(c.models[0].deployments[0].resume_prefill, std::optional<bool>(false));
  EXPECT_EQ(c.models[0].deployments[1].resume_prefill, std::optional<bool>(true));
  EXPECT_EQ(load_ok("providers: {a: {base_url: 'http://a/v1'}}").router.max_resumes, 2);
  EXPECT_EQ(load_errors("providers: {a: {base_url: 'http://a/v1', resume: always}}"),
            Strings{"cfg.yaml:1:50: providers.a.resume: expected prefill or none, got \"always\""});
}

TEST_F(ConfigLoaderTest, DurationsInProviderAndServer) {
  auto config = load_ok(R"(server: {shutdown_grace: 500ms}
providers:
  a: {base_url: "http://a", timeout: 2m}
  b: {base_url: "http://b", timeout: 1h}
  c: {base_url: "http://c", timeout: 1500}
)");
  EXPECT_EQ(config.server.shutdown_grace.count(), 500);
  EXPECT_EQ(config.providers[0].timeout.count(), 120000);
  EXPECT_EQ(config.providers[1].timeout.count(), 3600000);
  EXPECT_EQ(config.providers[2].timeout.count(), 1500);
}

// ---- environment ------------------------------------------------------------------------------

TEST_F(ConfigLoaderTest, EnvExpansionInEveryStringValueButNotKeys) {
  setenv("LLMUX_CFG_L_PORT", "9000", 1);
  setenv("LLMUX_CFG_L_HOST", "api.example.com", 1);
  auto config = load_ok(R"(server: {port: "${LLMUX_CFG_L_PORT}", host: "${LLMUX_CFG_L_UNSET:-::}"}
master_key: ${LLMUX_CFG_L_UNSET:-}
api_keys: ["${LLMUX_CFG_L_ORG}", "${LLMUX_CFG_L_UNSET:-}", "lit$${x}"]
providers:
  p:
    base_url: https://${LLMUX_CFG_L_HOST}
    models: ["${LLMUX_CFG_L_UNSET:-m1}"]
    headers: {X-Org: "${LLMUX_CFG_L_ORG}"}
    timeout: ${LLMUX_CFG_L_UNSET:-5s}
)");
  unsetenv("LLMUX_CFG_L_PORT");
  unsetenv("LLMUX_CFG_L_HOST");
  EXPECT_EQ(config.server.port, 9000);
  EXPECT_EQ(config.server.host, "::");
  EXPECT_FALSE(config.master_key);  // an empty master key means "none", not ""
  ASSERT_EQ(config.api_keys.size(), 2u);
  EXPECT_EQ(config.api_keys[0].reveal(), "org-42");
  EXPECT_EQ(config.api_keys[1].reveal(), "lit${x}");
  const ProviderConfig& p = config.providers.at(0);
  EXPECT_EQ(p.base_url, "https://api.example.com/v1");
  EXPECT_EQ(p.models.at(0).id, "m1");
  EXPECT_EQ(p.headers.at(0).value, "org-42");
  EXPECT_EQ(p.timeout.count(), 5000);
  // Keys are names, not values: an unset variable in a key is no error, just a bad header name.
  EXPECT_EQ(load_errors("providers:\n  p:\n    base_url: http://h\n"
                        "    headers: {\"${LLMUX_CFG_L_UNSET}\": x}\n"),
            Strings{"cfg.yaml:4:39: providers.p.headers.${LLMUX_CFG_L_UNSET}: invalid header "
                    "name \"${LLMUX_CFG_L_UNSET}\""});
}

TEST_F(ConfigLoaderTest, ExpansionIsPerScalarNotTextual) {
  // A value that looks like YAML must not change the document's structure.
  setenv("LLMUX_CFG_L_TRICKY", "x\"\n  injected: true", 1);
  auto config = load_ok("providers:\n  p:\n    base_url: http://h\n"
                        "    name: ${LLMUX_CFG_L_TRICKY}\n"
                        "    default_model: \"# ${LLMUX_CFG_L_ORG}\"\n");
  unsetenv("LLMUX_CFG_L_TRICKY");
  ASSERT_EQ(config.providers.size(), 1u);
  EXPECT_EQ(config.providers[0].name, "x\"\n  injected: true");
  EXPECT_EQ(config.providers[0].default_model, "# org-42");
}

TEST_F(ConfigLoaderTest, MissingVariableNamesItAndTheLocation) {
  EXPECT_EQ(load_errors(R"(providers:
  together:
    base_url: https://api.together.xyz
    api_key: "${LLMUX_CFG_L_UNSET}"
)"),
            Strings{"cfg.yaml:4:14: providers.together.api_key: environment variable "
                    "LLMUX_CFG_L_UNSET is not set (use ${LLMUX_CFG_L_UNSET:-default} to give a "
                    "default)"});
}

// ---- default_params typing --------------------------------------------------------------------

TEST_F(ConfigLoaderTest, DefaultParamsAreTypedJson) {
  setenv("LLMUX_CFG_L_TEMP", "0.7", 1);
  auto config = load_ok(R"(providers:
  p:
    base_url: http://h
    default_params:
      temperature: 0.2
      max_tokens: 100
      quoted_number: "0.2"
      single_quoted: '7'
      flag: true
      off: False
      quoted_flag: "true"
      nothing: null
      tilde: ~
      empty:
      word: hello
      stop: ["\n", END]
      nested: {a: [1, -2.5e3, "x\"y"], b: {}}
      from_env: ${LLMUX_CFG_L_TEMP}
      from_env_quoted: "${LLMUX_CFG_L_TEMP}"
      plus: +5
      leading_zero: 007
      dot: .5
      version: 1.2.3
)");
  unsetenv("LLMUX_CFG_L_TEMP");
  EXPECT_EQ(config.providers.at(0).default_params_json,
            R"({"temperature":0.2,"max_tokens":100,"quoted_number":"0.2","single_quoted":"7",)"
            R"("flag":true,"off":false,"quoted_flag":"true","nothing":null,"tilde":null,)"
            R"("empty":null,"word":"hello","stop":["\n","END"],)"
            R"("nested":{"a":[1,-2500,"x\"y"],"b":{}},"from_env":0.7,"from_env_quoted":"0.7",)"
            R"("plus":5,"leading_zero":7,"dot":0.5,"version":"1.2.3"})");
}

TEST_F(ConfigLoaderTest, DefaultParamsMustBeAMapping) {
  EXPECT_EQ(load_errors("providers:\n  p:\n    base_url: http://h\n    default_params: [1, 2]\n"),
            Strings{"cfg.yaml:4:21: providers.p.default_params: expected a mapping of request "
                    "parameters, got a list"});
  EXPECT_EQ(load_errors("providers:\n  p:\n    base_url: http://h\n    defaultParams:\n"
                        "      a: 1\n      a: 2\n"),
            Strings{"cfg.yaml:6:7: providers.p.defaultParams.a: duplicate key \"a\""});
}

// ---- auth -------------------------------------------------------------------------------------

struct AuthCase {
  const char* settings;
  AuthStyle style;
  const char* header;
};

TEST_F(ConfigLoaderTest, AuthStyles) {
  for (auto [settings, style, header] : {
           AuthCase{"api_key: k", AuthStyle::bearer, "Authorization"},
           AuthCase{"api_key: 'Bearer k'", AuthStyle::bearer, "Authorization"},
           AuthCase{"api_key: 'Basic dTpw'", AuthStyle::bearer, "Authorization"},
           AuthCase{"api_key: k, auth_type: bearer", AuthStyle::bearer, "Authorization"},
           AuthCase{"api_key: k, auth_type: api-key", AuthStyle::header, "api-key"},
           AuthCase{"api_key: k, auth: header", AuthStyle::header, "api-key"},
           AuthCase{"api_key: k, authType: API-KEY, authHeader: x-goog-api-key",
                    AuthStyle::header, "x-goog-api-key"},
           AuthCase{"api_key: k, auth_header: X-API-Key", AuthStyle::header, "X-API-Key"},
           AuthCase{"api_key: k, auth_header: authorization", AuthStyle::bearer, "Authorization"},
           AuthCase{"api_key: k, auth_type: basic", AuthStyle::basic, "Authorization"},
           AuthCase{"api_key: k, auth_type: none", AuthStyle::none, "Authorization"},
           AuthCase{"api_key: ''", AuthStyle::none, "Authorization"},
           AuthCase{"api_key: '${LLMUX_CFG_L_UNSET:-}', auth_type: basic", AuthStyle::none,
                    "Authorization"},
       }) {
    auto config =
        load_ok("providers:\n  p: {base_url: 'http://h', " + std::string(settings) + "}\n");
    ASSERT_EQ(config.providers.size(), 1u) << settings;
    EXPECT_EQ(config.providers[0].auth, style) << settings;
    EXPECT_EQ(config.providers[0].auth_header, header) << settings;
  }
}

TEST_F(ConfigLoaderTest, AuthErrors) {
  EXPECT_EQ(load_errors("providers:\n  p: {base_url: 'http://h', api_key: k, auth_type: oauth}\n"),
            Strings{"cfg.yaml:2:52: providers.p.auth_type: unknown auth type \"oauth\"; use "
                    "bearer, api-key (or header), basic or none"});
  EXPECT_EQ(load_errors("providers:\n  p:\n    base_url: http://h\n    api_key: k\n"
                        "    auth_type: bearer\n    auth_header: X-Key\n"),
            Strings{"cfg.yaml:6:18: providers.p.auth_header: auth_header is only used with "
                    "auth_type: api-key (or header)"});
  EXPECT_EQ(load_errors("providers:\n  p:\n    base_url: http://h\n    api_key: k\n"
                        "    auth_header: 'X Key'\n"),
            Strings{"cfg.yaml:5:18: providers.p.auth_header: must be a header name such as "
                    "api-key or X-API-Key"});
}

// ---- errors -----------------------------------------------------------------------------------

TEST_F(ConfigLoaderTest, UnknownKeysSuggestTheClosestKnownKey) {
  EXPECT_EQ(load_errors(R"(providers:
  together:
    base_url: https://api.together.xyz
    timout: 5s
    maxRetry: 3
    custom_header: {A: b}
    colour: red
)"),
            (Strings{
                "cfg.yaml:4:5: providers.together.timout: unknown key \"timout\" (did you mean "
                "\"timeout\"?)",
                "cfg.yaml:5:5: providers.together.maxRetry: unknown key \"maxRetry\" (did you "
                "mean \"maxRetries\"?)",
                "cfg.yaml:6:5: providers.together.custom_header: unknown key \"custom_header\" "
                "(did you mean \"custom_headers\"?)",
                "cfg.yaml:7:5: providers.together.colour: unknown key \"colour\"; expected one "
                "of: id, name, type, base_url, api_key, auth_type, auth_header, headers, models, "
                "default_model, default_params, drop_params, enabled, priority, timeout, max_retries, timeouts, resume, "
                "rate_limit, budget, api_version, security, tls, responses, http_version, region, access_key_id, secret_access_key, "
                "session_token, profile, project_id, service_account_key, publisher",
            }));
  EXPECT_EQ(load_errors("server: {prot: 80}\nprovider: {}\n"),
            (Strings{
                "cfg.yaml:1:10: server.prot: unknown key \"prot\" (did you mean \"port\"?)",
                "cfg.yaml:2:1: provider: unknown key \"provider\" (did you mean \"providers\"?)",
            }));
  EXPECT_EQ(load_errors("providers: [{id: p, base_url: 'http://h', models: [{id: m, contxt: 1}]}]"),
            Strings{"cfg.yaml:1:60: providers[0].models[0].contxt: unknown key \"contxt\"; "
                    "expected one of: id, name, upstream_id, aliases, context_window, pricing, "
                    "input_price, output_price, input_per_mtok, output_per_mtok, "
                    "cached_input_per_mtok, cache_write_per_mtok, reasoning_per_mtok"});
}

TEST_F(ConfigLoaderTest, AMistypedRequiredKeyIsReportedOnce) {
  // Not also "base_url is required": the typo explains it.
  EXPECT_EQ(load_errors("providers:\n  p:\n    baseurl: http://h\n"),
            Strings{"cfg.yaml:3:5: providers.p.baseurl: unknown key \"baseurl\" (did you mean "
                    "\"base_url\"?)"});
}

TEST_F(ConfigLoaderTest, TheSameSettingTwiceIsAnError) {
  EXPECT_EQ(load_errors(R"(providers:
  p:
    base_url: http://a
    baseUrl: http://b
    timeout: 1s
    timeout: 2s
)"),
            (Strings{
                "cfg.yaml:4:5: providers.p.baseUrl: \"baseUrl\" sets the same thing as "
                "\"base_url\" (first at line 3)",
                "cfg.yaml:6:5: providers.p.timeout: duplicate key \"timeout\" (first at line 5)",
            }));
}

TEST_F(ConfigLoaderTest, BadValuesPointAtTheValue) {
  EXPECT_EQ(load_errors(R"(server:
  port: 70000
  threads: many
  max_body_size: 10 parsecs
  shutdown_grace: soon
providers:
  together:
    base_url: ftp://api.together.xyz
    timeout: 60 seconds
    max_retries: -1
    enabled: yes
    type: bedrock
    models: {a: 1}
)"),
            (Strings{
                "cfg.yaml:2:9: server.port: must be between 0 and 65535",
                "cfg.yaml:3:12: server.threads: expected a whole number, got \"many\"",
                "cfg.yaml:4:18: server.max_body_size: invalid size \"10 parsecs\" (use a number "
                "of bytes or e.g. 512KiB, 10MiB, 1MB)",
                "cfg.yaml:5:19: server.shutdown_grace: invalid duration \"soon\" (use e.g. "
                "500ms, 60s, 2m, 1h, or a number of milliseconds)",
                "cfg.yaml:8:15: providers.together.base_url: unsupported URL scheme \"ftp\" (use "
                "http:// or https://)",
                "cfg.yaml:9:14: providers.together.timeout: invalid duration \"60 seconds\" (use "
                "e.g. 500ms, 60s, 2m, 1h, or a number of milliseconds)",
                "cfg.yaml:10:18: providers.together.max_retries: must not be negative",
                "cfg.yaml:11:14: providers.together.enabled: expected true or false, got \"yes\"",
                "cfg.yaml:12:11: providers.together.type: unknown provider type \"bedrock\"; "
                "known types: openai-compatible (also written as openai custom vllm "
                "lmstudio together groq openrouter mistral deepseek fireworks xai perplexity anyscale "
                "huggingface tgi localai jan llamafile), anthropic (also "
                "written as claude), gemini, azure-openai (also written as azure), ollama (Ollama's native API), cohere, aws-bedrock, vertex-ai",
                "cfg.yaml:13:13: providers.together.models: expected a list of models, got a "
                "mapping",
            }));
}

TEST_F(ConfigLoaderTest, NegativeTimeoutAndPricesAndContextWindow) {
  EXPECT_EQ(load_errors(R"(providers:
  - id: p
    baseUrl: http://h
    timeout: -5
    models:
      - m0
      - id: m1
        contextWindow: 0
        inputPrice: -1
        pricing: {output: -2}
      - {id: m2, contextWindow: lots}
)"),
            (Strings{
                "cfg.yaml:4:14: providers[0].timeout: must not be negative",
                "cfg.yaml:8:24: providers[0].models[1].contextWindow: must be greater than 0",
                "cfg.yaml:9:21: providers[0].models[1].inputPrice: must be a number >= 0",
                "cfg.yaml:10:27: providers[0].models[1].pricing.output: must be a number >= 0",
                "cfg.yaml:11:33: providers[0].models[2].contextWindow: expected a whole number, "
                "got \"lots\"",
            }));
  EXPECT_EQ(load_errors("providers: [{id: p, base_url: 'http://h', models: [{id: m, input_price: 1,"
                        " pricing: {input: 2}}]}]"),
            Strings{"cfg.yaml:1:73: providers[0].models[0].input_price: the input price is given "
                    "twice: as pricing.input (USD per 1K tokens) and as input_price (USD per 1K "
                    "tokens); keep one"});
}

TEST_F(ConfigLoaderTest, MissingAndInvalidProviderFields) {
  EXPECT_EQ(load_errors(R"(providers:
  - name: no id
    base_url: http://h
  - id: "bad id!"
    base_url: http://h
  - id: nourl
  - id: spaced
    base_url: "http://h /v1"
  - 42
)"),
            (Strings{
                "cfg.yaml:2:5: providers[0].id: a provider needs an id",
                "cfg.yaml:4:9: providers[1].id: provider id \"bad id!\" may only contain "
                "letters, digits, '.', '_' and '-'",
                "cfg.yaml:6:5: providers[2].base_url: base_url is required",
                "cfg.yaml:8:15: providers[3].base_url: URL must not contain spaces",
                "cfg.yaml:9:5: providers[4]: expected a mapping of provider settings, got a "
                "single value",
            }));
  EXPECT_EQ(load_errors("providers:\n  p:\n  q:\n    base_url: http://h\n    id: r\n"),
            (Strings{
                "cfg.yaml:2:3: providers.p.base_url: base_url is required",
                "cfg.yaml:5:9: providers.q.id: id \"r\" differs from the key \"q\" the provider "
                "is listed under",
            }));
}

TEST_F(ConfigLoaderTest, DuplicateProviderIdsNameBothLines) {
  EXPECT_EQ(load_errors(R"(providers:
  - id: groq
    base_url: https://api.groq.com/openai/v1
  - id: other
    base_url: http://h
  - id: groq
    base_url: https://api.groq.com/openai/v1
)"),
            Strings{"cfg.yaml:6:9: providers[2].id: duplicate provider id \"groq\" (first defined "
                    "at line 2)"});
  EXPECT_EQ(load_errors("providers:\n  groq: {base_url: 'http://a'}\n  x: {base_url: 'http://x'}\n"
                        "  groq: {base_url: 'http://b'}\n"),
            // Both are "providers.groq", so only the provider's line is known, not a column.
            Strings{"cfg.yaml:4: providers.groq.id: duplicate provider id \"groq\" (first "
                    "defined at line 2)"});
}

TEST_F(ConfigLoaderTest, DefaultModelMustBeAModelOrAlias) {
  EXPECT_EQ(load_errors(R"(providers:
  p:
    base_url: http://h
    models: [a, {id: b, aliases: [bee]}]
    default_model: c
)"),
            Strings{"cfg.yaml:5:20: providers.p.default_model: \"c\" is not one of this "
                    "provider's models (a, b)"});
  EXPECT_TRUE(load_errors("providers:\n  p:\n    base_url: http://h\n    models: [a, {id: b, "
                          "aliases: [bee]}]\n    default_model: bee\n")
                  .empty());
  // Without a model list any default is accepted: the provider may list its own.
  EXPECT_TRUE(load_errors("providers:\n  p: {base_url: 'http://h', default_model: x}\n").empty());
}

TEST_F(ConfigLoaderTest, ModelIdsAndAliasesMustBeUnique) {
  EXPECT_EQ(load_errors(R"(providers:
  p:
    base_url: http://h
    models:
      - {id: a, aliases: [x]}
      - {id: b, aliases: [x, a]}
      - {name: nameless}
)"),
            (Strings{
                "cfg.yaml:6:27: providers.p.models[1].aliases[0]: \"x\" is already used by model "
                "\"a\"",
                "cfg.yaml:6:30: providers.p.models[1].aliases[1]: \"a\" is already used by model "
                "\"a\"",
                "cfg.yaml:7:9: providers.p.models[2].id: a model needs an id",
            }));
}

TEST_F(ConfigLoaderTest, HeaderErrors) {
  EXPECT_EQ(load_errors(R"(providers:
  p:
    base_url: http://h
    headers:
      "Bad Header": x
      X-A: [1]
      X-B: "a${LLMUX_CFG_L_UNSET}"
)"),
            (Strings{
                "cfg.yaml:5:21: providers.p.headers.Bad Header: invalid header name \"Bad Header\"",
                "cfg.yaml:6:12: providers.p.headers.X-A: expected a string, got a list",
                "cfg.yaml:7:12: providers.p.headers.X-B: environment variable LLMUX_CFG_L_UNSET is "
                "not set (use ${LLMUX_CFG_L_UNSET:-default} to give a default)",
            }));
}

TEST_F(ConfigLoaderTest, AllErrorsAreReportedTogetherInFileOrder) {
  auto errors = load_errors(R"(providers:
  a:
    base_url: http://a
    timeout: forever
  b:
    api_key: k
  c:
    base_url: http://c
    max_retries: lots
unknown_top: 1
)");
  EXPECT_EQ(errors, (Strings{
                        "cfg.yaml:4:14: providers.a.timeout: invalid duration \"forever\" (use "
                        "e.g. 500ms, 60s, 2m, 1h, or a number of milliseconds)",
                        "cfg.yaml:5:3: providers.b.base_url: base_url is required",
                        "cfg.yaml:9:18: providers.c.max_retries: expected a whole number, got "
                        "\"lots\"",
                        "cfg.yaml:10:1: unknown_top: unknown key \"unknown_top\"; expected one "
                        "of: providers, server, master_key, api_keys, state_dir, metrics, models, router, alerts, ledger, logging, admin_key, admin",
                    }));
}

TEST_F(ConfigLoaderTest, WrongShapesAtTheTop) {
  EXPECT_EQ(load_errors("just a string\n"),
            Strings{"cfg.yaml:1:1: expected a mapping of settings or a list of providers"});
  EXPECT_EQ(load_errors("providers: 3\n"),
            Strings{"cfg.yaml:1:12: providers: expected a mapping of providers (id: {...}) or a "
                    "list of providers, got a single value"});
  EXPECT_EQ(load_errors("server: [1]\napi_keys: {a: b}\n"),
            (Strings{
                "cfg.yaml:1:9: server: expected a mapping of server settings, got a list",
                "cfg.yaml:2:11: api_keys: expected a list of keys (strings, or mappings with key:), got a mapping",
            }));
}

TEST_F(ConfigLoaderTest, YamlSyntaxErrorHasALine) {
  EXPECT_EQ(load_errors("providers:\n  p: {base_url: http://h\nserver: {}\n"),
            Strings{"cfg.yaml:3:7: syntax error: end of map flow not found"});
}

TEST_F(ConfigLoaderTest, SecretsNeverAppearInErrors) {
  setenv("LLMUX_CFG_L_BADKEY", "sk-supersecret\r\nX-Injected: 1", 1);
  auto errors = load_errors(R"(master_key: [sk-supersecret-master]
providers:
  p:
    base_url: http://h
    api_key: ${LLMUX_CFG_L_BADKEY}
  q:
    base_url: http://h
    api_key: "sk-supersecret-${oops"
)");
  unsetenv("LLMUX_CFG_L_BADKEY");
  EXPECT_EQ(errors, (Strings{
                        "cfg.yaml:1:13: master_key: expected a string, got a list",
                        "cfg.yaml:5:14: providers.p.api_key: must not contain line breaks or "
                        "control characters",
                        "cfg.yaml:8:14: providers.q.api_key: unterminated \"${\" (write \"$${\" "
                        "for a literal \"${\")",
                    }));
  for (const auto& e : errors) EXPECT_EQ(e.find("supersecret"), std::string::npos) << e;
}

// ---- files ------------------------------------------------------------------------------------

class ConfigFileTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("llmux-config-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(ConfigFileTest, LoadsAJsonFileWithLineNumbersInErrors) {
  std::string good = write("good.json", kListStyleJson);
  auto config = load_config_file(good);
  ASSERT_TRUE(config) << config_test::joined(config.error());
  EXPECT_EQ(config->source_file, good);
  EXPECT_EQ(config->providers.at(0).source.file, good);
  EXPECT_EQ(config->providers.at(0).id, "ollama");

  std::string bad = write("bad.json", R"({
	"providers": [
		{
			"id": "x",
			"baseUrl": "http://localhost:11434",
			"timeout": "fast",
			"maxretries": 2
		}
	]
})");
  auto result = load_config_file(bad);
  ASSERT_FALSE(result);
  EXPECT_EQ(config_test::formatted(result.error()),
            (Strings{
                bad + ":6:15: providers[0].timeout: invalid duration \"fast\" (use e.g. 500ms, "
                      "60s, 2m, 1h, or a number of milliseconds)",
                bad + ":7:4: providers[0].maxretries: unknown key \"maxretries\" (did you mean "
                      "\"max_retries\"?)",
            }));
}

TEST_F(ConfigFileTest, MissingFileNamesTheFileAndTheReason) {
  std::string path = dir_ + "/nope.yaml";
  auto result = load_config_file(path);
  ASSERT_FALSE(result);
  EXPECT_EQ(config_test::formatted(result.error()),
            Strings{path + ": cannot read config file: No such file or directory"});
  auto dir = load_config_file(dir_);
  ASSERT_FALSE(dir);
  EXPECT_EQ(config_test::formatted(dir.error()),
            Strings{dir_ + ": cannot read config file: Is a directory"});
}

TEST_F(ConfigFileTest, EmptyFileIsAnEmptyConfig) {
  auto result = load_config_file(write("empty.yaml", ""));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->providers.empty());
}

}  // namespace
}  // namespace llmux
