// `llmux serve` with the provider store: changes are picked up without a restart, an invalid
// change keeps the last good config, `validate` / `serve --dry-run` check what serve would load.
#include <gtest/gtest.h>

#include <signal.h>

#include <thread>

#include "cli_harness.hpp"
#include "harness.hpp"

namespace llmux::test {
namespace {

using Clock = std::chrono::steady_clock;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Polls GET /v1/models until `pred(body)` holds (a real observable), with a deadline.
bool models_until(int port, const std::function<bool(const std::string&)>& pred,
                  std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    auto r = http_get("http://127.0.0.1:" + std::to_string(port) + "/v1/models");
    if (r.status == 200 && pred(r.body)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval, not a synchronisation
  }
  return false;
}

int listening_port(Spawned& p) {
  std::string line;
  p.wait_until([&](const std::string& out, const std::string&) {
    size_t at = out.find("listening on http://");
    if (at == std::string::npos) return false;
    size_t nl = out.find('\n', at);
    if (nl == std::string::npos) return false;
    line = out.substr(at, nl - at);
    return true;
  });
  return port_from_listening_line(line);
}

TEST(CliServe, ARunningServerSeesAProviderAddWithoutRestart) {
  auto fake = start_fake();
  Sandbox box;
  box.extra_env = {"LLMUX_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"};
  ASSERT_EQ(box.run({"provider", "add", "first", fake.base_url(), "--model", "first-model"}).exit, 0);
  Spawned serve({LLMUX_BINARY, "serve", "--port", "0", "--no-discover"}, box.env());
  int port = listening_port(serve);
  ASSERT_GT(port, 0) << serve.out() << serve.err();
  EXPECT_TRUE(contains(serve.out(), "provider first")) << serve.out();

  auto add = box.run({"provider", "add", "hot", fake.base_url(), "--model", "hot-model"});
  ASSERT_EQ(add.exit, 0) << add.all();
  ASSERT_TRUE(models_until(port, [](const std::string& b) { return contains(b, "\"hot/hot-model\""); }))
      << serve.out() << serve.err();
  auto chat = http_post("http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions",
                        R"({"model":"hot/hot-model","messages":[{"role":"user","content":"hot reload"}]})");
  EXPECT_EQ(chat.status, 200) << chat.body;

  // A hand edit that breaks the file: reported, and the last good config keeps serving.
  std::string good = read_text(box.store_file());
  write_text(box.store_file(), good + "  broken:\n    base_url: ftp://nope\n");
  ASSERT_TRUE(serve.wait_until([](const std::string&, const std::string& err) {
    return contains(err, "config change not applied") && contains(err, "unsupported URL scheme");
  })) << serve.err();
  EXPECT_TRUE(contains(serve.err(), "providers.yaml:")) << serve.err();
  auto still = http_get("http://127.0.0.1:" + std::to_string(port) + "/v1/models");
  EXPECT_TRUE(contains(still.body, "\"hot/hot-model\"")) << still.body;

  // Fixed by the CLI (the broken entry removed), then disabled: it leaves /v1/models.
  ASSERT_EQ(box.run({"provider", "remove", "broken"}).exit, 0);
  ASSERT_EQ(box.run({"provider", "disable", "hot"}).exit, 0);
  EXPECT_TRUE(models_until(port, [](const std::string& b) {
    return !contains(b, "\"hot/hot-model\"") && contains(b, "\"first/first-model\"");
  })) << serve.err();

  // A key stored later is used without a restart too.
  auto locked = start_fake({"--require-key", "sk-vault-reload-1234"});
  ASSERT_EQ(box.run({"provider", "add", "locked", locked.base_url(), "--model", "locked-model"}).exit, 0);
  ASSERT_TRUE(models_until(port, [](const std::string& b) { return contains(b, "locked/locked-model"); }));
  ASSERT_EQ(box.run({"api-key", "locked"}, "sk-vault-reload-1234\n").exit, 0);
  auto until = Clock::now() + std::chrono::seconds(5);
  long status = 0;
  for (bool first = true; Clock::now() < until && status != 200; first = false) {
    if (!first) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    status = http_post("http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions",
                       R"({"model":"locked/locked-model","messages":[{"role":"user","content":"k"}]})")
                 .status;
  }
  EXPECT_EQ(status, 200);
  EXPECT_FALSE(contains(serve.out() + serve.err(), "sk-vault-reload")) << "the key was printed";

  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(), 0) << serve.err();
}

TEST(CliServe, ADuplicateIdInConfigAndStoreIsAnErrorNamingBothFiles) {
  Sandbox box;
  write_text(box.config_dir() + "/config.yaml", "providers:\n  same:\n    base_url: http://127.0.0.1:9\n");
  write_text(box.store_file(), "providers:\n  same:\n    base_url: http://127.0.0.1:10\n");
  auto v = box.run({"validate"});
  EXPECT_EQ(v.exit, 1);
  EXPECT_TRUE(contains(v.err, box.store_file() + ":2: providers.same: provider 'same' is also defined in " +
                                  box.config_dir() + "/config.yaml:2"))
      << v.err;
  auto dry = box.run({"serve", "--dry-run"});
  EXPECT_EQ(dry.exit, 1);
  Spawned serve({LLMUX_BINARY, "serve", "--port", "0"}, box.env());
  EXPECT_EQ(serve.wait(), 1);
  EXPECT_TRUE(contains(serve.err(), "also defined in")) << serve.err();
  // The CLI refuses to create such a duplicate in the first place.
  auto add = box.run({"provider", "add", "same", "http://127.0.0.1:11"});
  EXPECT_EQ(add.exit, 2);
  EXPECT_TRUE(contains(add.err, "already")) << add.err;
}

TEST(CliServe, ValidateChecksConfigAndStoreAndPrintsEveryErrorWithItsLine) {
  Sandbox box;
  std::string config = box.dir() + "/cfg.yaml";
  write_text(config, "providers:\n  a:\n    base_url: http://127.0.0.1:9\n    models: [m]\n");
  write_text(box.store_file(),
             "providers:\n  b:\n    base_url: localhost\n    timeout: soon\n  c:\n    base_url: http://h\n    api_key: ${LLMUX_TEST_UNSET_VAR}\n");
  auto v = box.run({"validate", "--config", config});
  EXPECT_EQ(v.exit, 1) << v.all();
  EXPECT_TRUE(contains(v.err, box.store_file() + ":3:15: providers.b.base_url: URL must start with http:// or https://")) << v.err;
  EXPECT_TRUE(contains(v.err, box.store_file() + ":4:14: providers.b.timeout: invalid duration \"soon\"")) << v.err;
  EXPECT_TRUE(contains(v.err, "LLMUX_TEST_UNSET_VAR is not set")) << v.err;
  EXPECT_TRUE(contains(v.err, "3 error(s)")) << v.err;

  write_text(box.store_file(), "providers:\n  b:\n    base_url: http://127.0.0.1:10\n    models: [x, y]\n");
  auto ok = box.run({"validate", "--config", config});
  EXPECT_EQ(ok.exit, 0) << ok.all();
  EXPECT_EQ(ok.out, config + " + " + box.store_file() + ": OK: 2 provider(s), 3 model(s)\n");
  auto json = box.run({"validate", "--config", config, "--json"});
  EXPECT_TRUE(contains(json.out, "\"ok\": true")) << json.out;
  EXPECT_EQ(box.run({"serve", "--dry-run", "--config", config}).exit, 0);
}

}  // namespace
}  // namespace llmux::test

namespace llmux::test {
namespace {

// OPENAI_API_KEY (any known service's key) registers the service; its live model list, fetched
// with its key, is what /v1/models shows and what bare model ids resolve to. OPENAI_BASE_URL
// points the service at the fake provider.
TEST(CliServeDiscovery, AServiceFoundByItsKeyServesItsLiveModelsAndBareIds) {
  const std::string key = "sk-test-discovered-000000";
  auto fake = start_fake({"--models", "gpt-4o,gpt-4o-mini", "--require-key", key});
  Sandbox box;
  box.extra_env = {"OPENAI_API_KEY=" + key, "OPENAI_BASE_URL=" + fake.base_url()};
  Spawned serve({LLMUX_BINARY, "serve", "--port", "0"}, box.env());
  int port = listening_port(serve);
  ASSERT_GT(port, 0) << serve.out() << serve.err();
  ASSERT_TRUE(serve.wait_until([](const std::string& out, const std::string&) { return contains(out, "provider openai"); }))
      << serve.out();
  EXPECT_TRUE(contains(serve.out(), "provider openai (openai-compatible) " + fake.base_url() + ": gpt-4o, gpt-4o-mini"))
      << serve.out();
  EXPECT_FALSE(contains(serve.out() + serve.err(), key)) << "the key was printed";

  auto models = http_get("http://127.0.0.1:" + std::to_string(port) + "/v1/models");
  ASSERT_EQ(models.status, 200);
  EXPECT_TRUE(contains(models.body, "\"openai/gpt-4o\"")) << models.body;
  EXPECT_TRUE(contains(models.body, "\"openai/gpt-4o-mini\"")) << models.body;

  auto chat = http_post("http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions",
                        R"({"model":"gpt-4o","messages":[{"role":"user","content":"bare id"}]})");
  EXPECT_EQ(chat.status, 200) << chat.body;
  EXPECT_TRUE(contains(chat.body, "You said: bare id")) << chat.body;
  auto sent = http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests");
  EXPECT_TRUE(contains(sent.body, "\\\"model\\\":\\\"gpt-4o\\\"") || contains(sent.body, "\"model\":\"gpt-4o\"")) << sent.body;
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(), 0) << serve.err();
}

// The list is fetched again every LLMUX_MODELS_REFRESH (default 10m) off the request path: a
// service that is down keeps its last list (and says so on stderr), a changed list is served.
TEST(CliServeDiscovery, LiveModelListsAreRefreshedAndKeptWhileTheServiceIsDown) {
  auto first = start_fake({"--models", "model-a"});
  int upstream_port = first.port;
  Sandbox box;
  box.extra_env = {"OPENAI_API_KEY=sk-test-refresh-0000", "OPENAI_BASE_URL=" + first.base_url(),
                   "LLMUX_MODELS_REFRESH=100ms"};
  Spawned serve({LLMUX_BINARY, "serve", "--port", "0", "--no-watch"}, box.env());
  int port = listening_port(serve);
  ASSERT_GT(port, 0) << serve.out() << serve.err();
  ASSERT_TRUE(models_until(port, [](const std::string& b) { return contains(b, "\"openai/model-a\""); }));

  first.process.signal(SIGTERM);
  ASSERT_NE(first.process.wait(), -1);
  ASSERT_TRUE(serve.wait_until([](const std::string&, const std::string& err) {
    return contains(err, "model list refresh failed for openai: no answer from");
  })) << serve.err();
  auto kept = http_get("http://127.0.0.1:" + std::to_string(port) + "/v1/models");
  EXPECT_TRUE(contains(kept.body, "\"openai/model-a\"")) << kept.body;

  FakeProvider second{Process({LLMUX_FAKE_BINARY, "--port", std::to_string(upstream_port), "--models", "model-b"}), 0};
  second.port = port_from_listening_line(second.process.wait_for_line("listening on ", std::chrono::seconds(5)));
  if (second.port != upstream_port) GTEST_SKIP() << "port " << upstream_port << " was taken in between";
  ASSERT_TRUE(models_until(port, [](const std::string& b) { return contains(b, "\"openai/model-b\""); },
                           std::chrono::seconds(10)))
      << serve.err();
  auto chat = http_post("http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions",
                        R"({"model":"model-b","messages":[{"role":"user","content":"refreshed"}]})");
  EXPECT_EQ(chat.status, 200) << chat.body;
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(), 0) << serve.err();
}

// An invalid config or provider store is a failure (1) for every command, as `validate` says;
// 2 stays for bad command lines and refused changes.
TEST(CliServeExitCodes, AnInvalidStoreOrConfigIsExitOneEverywhere) {
  Sandbox box;
  write_text(box.store_file(), "providers:\n  b:\n    base_url: localhost\n");
  for (std::vector<std::string> args : {std::vector<std::string>{"validate"},
                                        {"provider", "list"},
                                        {"provider", "info", "b"},
                                        {"chat", "hello", "--provider", "b"},
                                        {"models"},
                                        {"provider", "test", "b"}}) {
    auto r = box.run(args);
    EXPECT_EQ(r.exit, 1) << args[0] << " " << (args.size() > 1 ? args[1] : "") << "\n" << r.all();
    EXPECT_TRUE(contains(r.err, "providers.b.base_url: URL must start with http:// or https://")) << r.err;
  }
  write_text(box.store_file(), "providers:\n  b: [unclosed\n");
  EXPECT_EQ(box.run({"provider", "list"}).exit, 1);
  EXPECT_EQ(box.run({"chat", "hello"}).exit, 1);

  Sandbox config_box;
  std::string config = config_box.dir() + "/cfg.yaml";
  write_text(config, "providers:\n  a:\n    base_url: http://127.0.0.1:9\n    timeout: soon\n");
  EXPECT_EQ(config_box.run({"validate", "--config", config}).exit, 1);
  EXPECT_EQ(config_box.run({"chat", "hello", "--config", config}).exit, 1);
  EXPECT_EQ(config_box.run({"provider", "list", "--all", "--config", config}).exit, 1);
  write_text(config_box.config_dir() + "/prompts.yaml", "prompts: [1, 2]\n");
  EXPECT_EQ(config_box.run({"prompt", "list"}).exit, 1);
}

}  // namespace
}  // namespace llmux::test
