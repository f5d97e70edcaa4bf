// `llmux serve` without a config: embedded defaults, provider discovery from key variables and
// from a local OpenAI-compatible server on its default port.
#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>

#include "harness.hpp"

namespace llmux::test {
namespace {

std::vector<std::string> isolated_env(const std::string& dir) {
  return {"XDG_CONFIG_HOME=" + dir + "/config", "XDG_STATE_HOME=" + dir + "/state"};
}

std::string temp_dir() {
  char path[] = "/tmp/llmux-defaults-XXXXXX";
  return ::mkdtemp(path);
}

TEST(EmbeddedDefaults, RegistersProvidersFromKeyVariablesAndKeepsStateUnderXdg) {
  std::string dir = temp_dir();
  auto env = isolated_env(dir);
  env.push_back("GROQ_API_KEY=gsk-test-000000000000");
  env.push_back("ANTHROPIC_API_KEY=sk-ant-test-0000000000");
  // Discovered services have their model lists fetched: the test keeps that on this machine (a
  // closed loopback port) instead of sending test keys to the real services.
  env.push_back("GROQ_BASE_URL=http://127.0.0.1:9/openai/v1");
  env.push_back("ANTHROPIC_BASE_URL=http://127.0.0.1:9/v1");
  Process p({LLMUX_BINARY, "serve", "--port", "0"}, env);
  int port = port_from_listening_line(p.wait_for_line("listening on "));
  ASSERT_GT(port, 0) << p.output();
  std::string line = p.wait_for_line("provider groq");
  EXPECT_NE(line.find("http://127.0.0.1:9/openai/v1"), std::string::npos) << line;
  line = p.wait_for_line("provider anthropic");
  EXPECT_NE(line.find("(anthropic) http://127.0.0.1:9/v1"), std::string::npos) << line;
  EXPECT_EQ(p.output().find("gsk-test"), std::string::npos) << "key printed";
  EXPECT_EQ(p.output().find("sk-ant-test"), std::string::npos) << "key printed";
  auto models = http_get("http://127.0.0.1:" + std::to_string(port) + "/v1/models");
  EXPECT_EQ(models.status, 200);
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/state/llmux"));
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0);
}

TEST(EmbeddedDefaults, DiscoversALocalServerOnItsDefaultPort) {
  // LM Studio's default port; taken only for this test.
  FakeProvider local;
  try {
    local = FakeProvider{Process({LLMUX_FAKE_BINARY, "--port", "1234", "--models", "local-a,local-b"}), 0};
    local.port = port_from_listening_line(local.process.wait_for_line("listening on ", std::chrono::seconds(5)));
  } catch (...) {
  }
  if (local.port != 1234) GTEST_SKIP() << "port 1234 is in use on this machine";
  std::string dir = temp_dir();
  Process p({LLMUX_BINARY, "serve", "--port", "0"}, isolated_env(dir));
  int port = port_from_listening_line(p.wait_for_line("listening on "));
  ASSERT_GT(port, 0) << p.output();
  std::string line = p.wait_for_line("provider lmstudio");
  EXPECT_NE(line.find("local-a, local-b"), std::string::npos) << line;
  auto r = http_post("http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions",
                     R"({"model":"lmstudio/local-b","messages":[{"role":"user","content":"found you"}]})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("found you"), std::string::npos);
}

TEST(EmbeddedDefaults, ConfigFileUnderXdgConfigHomeIsUsed) {
  auto fake = start_fake();
  std::string dir = temp_dir();
  std::filesystem::create_directories(dir + "/config/llmux");
  std::string yaml = "providers:\n  mine:\n    base_url: " + fake.base_url() + "\n    models: [fake-model]\n";
  FILE* f = std::fopen((dir + "/config/llmux/config.yaml").c_str(), "w");
  std::fputs(yaml.c_str(), f);
  std::fclose(f);
  Process p({LLMUX_BINARY, "serve", "--port", "0"}, isolated_env(dir));
  int port = port_from_listening_line(p.wait_for_line("listening on "));
  ASSERT_GT(port, 0);
  auto r = http_post("http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions",
                     R"({"model":"mine/fake-model","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace llmux::test
