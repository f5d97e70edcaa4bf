// The admin API's provider writes against a real `llmux serve` and fake providers on loopback:
// a provider registered through the API is served (its key from the vault), every refusal has
// its status and code, nothing secret is ever answered or audited, and registering a provider
// while clients keep sending requests loses none of them.
#include <poll.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kAdminKey = "admin-key-for-tests-7f3a";
constexpr const char* kUpstreamKey = "sk-upstream-secret-91c2";

struct AdminGateway {
  Process process;
  int port = 0;
  std::string home;
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
  std::string store_file() const { return home + "/config/llmux/providers.yaml"; }
  std::string audit_file() const { return home + "/state/llmux/audit.log"; }
};

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// `llmux serve` with its own XDG directories (the provider store, vault and audit log are read
// back by the tests) and an admin key.
AdminGateway start_admin_gateway(const std::string& config_yaml) {
  AdminGateway g;
  char dir[] = "/tmp/llmux-admin-home-XXXXXX";
  if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  g.home = dir;
  std::string config = temp_file(config_yaml);
  g.process = Process({LLMUX_BINARY, "serve", "--config", config, "--port", "0"},
                      {"XDG_STATE_HOME=" + g.home + "/state", "XDG_CONFIG_HOME=" + g.home + "/config",
                       std::string("LLMUX_ADMIN_KEY=") + kAdminKey,
                       "LLMUX_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"});
  g.port = port_from_listening_line(g.process.wait_for_line("listening on "));
  if (g.port == 0) throw std::runtime_error("llmux did not start: " + g.process.output());
  return g;
}

std::vector<std::string> admin_headers(std::vector<std::string> more = {}) {
  more.push_back("Content-Type: application/json");
  more.push_back(std::string("Authorization: Bearer ") + kAdminKey);
  return more;
}

HttpResponse admin(const AdminGateway& g, const std::string& method, const std::string& path, const std::string& body = {},
                   std::vector<std::string> extra = {}) {
  return http_request(method, g.url(path), body, admin_headers(std::move(extra)));
}

std::string error_code(const HttpResponse& r) {
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("error")) return "(not an error: " + r.body + ")";
  const auto& code = v.at("error").at("code");
  return code.is_string() ? std::string(code.as_string()) : "(null)";
}

std::string chat(const std::string& model) {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}]})";
}

std::string provider_json(const std::string& id, const FakeProvider& fake, int priority = 1) {
  return R"({"id":")" + id + R"(","name":"Registered","type":"openai-compatible","baseUrl":")" + fake.base_url() +
         R"(","apiKey":")" + kUpstreamKey + R"(","models":[{"id":"fake-model","contextWindow":8192}],"priority":)" +
         std::to_string(priority) + "}";
}

bool lists_model(const AdminGateway& g, const std::string& model) {
  auto r = http_get(g.url("/v1/models"));
  return r.status == 200 && r.body.find("\"" + model + "\"") != std::string::npos;
}

std::string backup_config(const FakeProvider& backup) {
  return "providers:\n  backup:\n    base_url: " + backup.base_url() + "\n    models: [fake-model]\n    priority: 10\n";
}

TEST(AdminWrites, RegisteredProviderIsListedAndServedWithItsVaultKey) {
  auto upstream = start_fake({"--require-key", kUpstreamKey, "--models", "fake-model"});
  auto backup = start_fake();
  auto g = start_admin_gateway(backup_config(backup));
  auto r = admin(g, "POST", "/api/providers/register",
                 R"({"id":"added","baseUrl":")" + upstream.base_url() + R"(","apiKey":")" + kUpstreamKey +
                     R"(","models":["added-model"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("location"), "/api/providers/added");
  EXPECT_FALSE(r.header("etag").empty());
  EXPECT_EQ(r.body.find(kUpstreamKey), std::string::npos) << r.body;
  EXPECT_TRUE(lists_model(g, "added-model"));
  auto c = http_post(g.url("/v1/chat/completions"), chat("added-model"));
  EXPECT_EQ(c.status, 200) << c.body;  // the fake refuses any other key
  EXPECT_EQ(c.header("x-llmux-provider"), "added");
  std::string store = read_all(g.store_file());
  EXPECT_NE(store.find("added:"), std::string::npos) << store;
  EXPECT_EQ(store.find(kUpstreamKey), std::string::npos) << store;
  std::string vault = read_all(g.home + "/state/llmux/vault.json");
  EXPECT_NE(vault.find("\"added\""), std::string::npos);
  EXPECT_EQ(vault.find(kUpstreamKey), std::string::npos);
}

TEST(AdminWrites, RefusalsHaveTheirStatusAndCode) {
  auto fake = start_fake();
  auto g = start_admin_gateway(backup_config(fake));
  // No admin key.
  auto anonymous = http_request("POST", g.url("/api/providers/register"), provider_json("p", fake));
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  auto wrong = http_request("POST", g.url("/api/providers/register"), provider_json("p", fake),
                            {"Authorization: Bearer not-the-admin-key"});
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  // Bad JSON, unknown field, invalid URL: 400 invalid_provider_config, each problem named.
  auto bad_json = admin(g, "POST", "/api/providers/register", "{\"id\": ");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(error_code(bad_json), "invalid_provider_config");
  auto several = admin(g, "POST", "/api/providers/register",
                       R"({"id":"p","baseUrl":"ftp://nowhere/v1","colour":"red"})");
  ASSERT_EQ(several.status, 400) << several.body;
  EXPECT_EQ(error_code(several), "invalid_provider_config");
  auto errors = json::parse(several.body).at("error").at("errors").as_array();
  std::vector<std::string> fields;
  for (const auto& e : errors) fields.push_back(std::string(e.at("field").as_string()));
  EXPECT_NE(std::find(fields.begin(), fields.end(), "baseUrl"), fields.end()) << several.body;
  EXPECT_NE(std::find(fields.begin(), fields.end(), "colour"), fields.end()) << several.body;
  // Duplicate name, and the config file's provider.
  ASSERT_EQ(admin(g, "POST", "/api/providers/register", provider_json("p", fake)).status, 201);
  auto duplicate = admin(g, "POST", "/api/providers/register", provider_json("p", fake));
  EXPECT_EQ(duplicate.status, 409);
  EXPECT_EQ(error_code(duplicate), "provider_exists");
  auto read_only = admin(g, "PATCH", "/api/providers/backup", R"({"priority":1})");
  EXPECT_EQ(read_only.status, 409) << read_only.body;
  EXPECT_EQ(error_code(read_only), "provider_read_only");
  EXPECT_EQ(admin(g, "DELETE", "/api/providers/backup").status, 409);
  // A stale If-Match.
  auto stale = admin(g, "PATCH", "/api/providers/p", R"({"priority":2})", {"If-Match: \"0000000000000000\""});
  EXPECT_EQ(stale.status, 412) << stale.body;
  EXPECT_EQ(error_code(stale), "etag_mismatch");
  auto unknown = admin(g, "DELETE", "/api/providers/nope");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
}

TEST(AdminWrites, DryRunWritesNothing) {
  auto fake = start_fake();
  auto g = start_admin_gateway(backup_config(fake));
  auto r = admin(g, "POST", "/api/providers/register?dry_run=true", provider_json("dry", fake));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body).at("dryRun").as_bool());
  EXPECT_EQ(r.body.find(kUpstreamKey), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(g.store_file()));
  EXPECT_FALSE(std::filesystem::exists(g.home + "/state/llmux/vault.json"));
  auto list = admin(g, "GET", "/api/providers");
  EXPECT_EQ(list.body.find("\"dry\""), std::string::npos) << list.body;
}

TEST(AdminWrites, PatchKeepsOtherFieldsAndDeleteRemoves) {
  auto fake = start_fake({"--require-key", kUpstreamKey});
  auto backup = start_fake();
  auto g = start_admin_gateway(backup_config(backup));
  auto created = admin(g, "POST", "/api/providers/register", provider_json("p", fake));
  ASSERT_EQ(created.status, 201) << created.body;
  auto read = admin(g, "GET", "/api/providers/p");
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.header("etag"), created.header("etag"));
  EXPECT_EQ(read.body.find(kUpstreamKey), std::string::npos) << read.body;
  auto list = admin(g, "GET", "/api/providers");
  EXPECT_NE(list.body.find("\"p\""), std::string::npos) << list.body;
  EXPECT_EQ(list.body.find(kUpstreamKey), std::string::npos) << list.body;
  auto patched = admin(g, "PATCH", "/api/providers/p", R"({"name":"Renamed"})", {"If-Match: " + read.header("etag")});
  ASSERT_EQ(patched.status, 200) << patched.body;
  auto provider = json::parse(patched.body).at("provider").as_object();
  EXPECT_EQ(provider.at("name").as_string(), "Renamed");
  EXPECT_EQ(provider.at("baseUrl").as_string(), fake.base_url());
  EXPECT_EQ(provider.at("models").at(0).at("id").as_string(), "fake-model");
  EXPECT_EQ(provider.at("apiKey").as_string(), std::string("****") + std::string(kUpstreamKey).substr(19));
  EXPECT_EQ(patched.body.find(kUpstreamKey), std::string::npos) << patched.body;
  auto c = http_post(g.url("/v1/chat/completions"), chat("fake-model"));
  EXPECT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.header("x-llmux-provider"), "p");  // the key survived the patch
  auto deleted = admin(g, "DELETE", "/api/providers/p");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(json::parse(deleted.body).at("deleted").as_string(), "p");
  EXPECT_EQ(admin(g, "GET", "/api/providers/p").status, 404);
  auto after = http_post(g.url("/v1/chat/completions"), chat("fake-model"));
  EXPECT_EQ(after.header("x-llmux-provider"), "backup");
  std::string audit = read_all(g.audit_file());
  for (const char* action : {"provider.register", "provider.update", "provider.delete"})
    EXPECT_NE(audit.find(action), std::string::npos) << action << " in " << audit;
  EXPECT_NE(audit.find("admin-key"), std::string::npos) << audit;
  EXPECT_EQ(audit.find(kUpstreamKey), std::string::npos) << audit;
  EXPECT_EQ(audit.find(kAdminKey), std::string::npos) << audit;
}

TEST(AdminWrites, DisableMovesRequestsToTheFallback) {
  auto primary = start_fake({"--require-key", kUpstreamKey});
  auto backup = start_fake();
  auto g = start_admin_gateway(backup_config(backup));
  ASSERT_EQ(admin(g, "POST", "/api/providers/register", provider_json("primary", primary)).status, 201);
  EXPECT_EQ(http_post(g.url("/v1/chat/completions"), chat("fake-model")).header("x-llmux-provider"), "primary");
  auto off = admin(g, "POST", "/api/providers/primary/disable");
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_FALSE(json::parse(off.body).at("provider").at("enabled").as_bool());
  for (int i = 0; i < 3; ++i) {
    auto r = http_post(g.url("/v1/chat/completions"), chat("fake-model"));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-llmux-provider"), "backup");
  }
  ASSERT_EQ(admin(g, "POST", "/api/providers/primary/enable").status, 200);
  EXPECT_EQ(http_post(g.url("/v1/chat/completions"), chat("fake-model")).header("x-llmux-provider"), "primary");
  auto def = admin(g, "POST", "/api/providers/primary/default");
  ASSERT_EQ(def.status, 200) << def.body;
  EXPECT_TRUE(json::parse(def.body).at("provider").at("default").as_bool()) << def.body;
}

// Clients keep sending requests to the config file's provider while a provider is registered,
// changed and removed through the API, again and again: not one request fails, and the
// registered provider serves requests in between.
TEST(AdminWrites, RegisteringUnderSustainedLoadLosesNoRequest) {
  auto steady = start_fake({"--models", "steady-model"});
  auto added = start_fake({"--require-key", kUpstreamKey});
  auto g = start_admin_gateway("providers:\n  steady:\n    base_url: " + steady.base_url() +
                               "\n    models: [steady-model]\n");
  std::atomic<bool> stop{false};
  std::atomic<long> done{0};
  std::mutex mu;
  std::vector<std::string> failures;
  auto client = [&] {
    while (!stop.load()) {
      auto r = http_post(g.url("/v1/chat/completions"), chat("steady-model"));
      if (r.status != 200 || r.body.find("\"choices\"") == std::string::npos) {
        std::lock_guard lock(mu);
        failures.push_back(std::to_string(r.status) + " " + r.error + " " + r.body);
      }
      ++done;
    }
  };
  std::vector<std::thread> clients;
  // Stops and joins the clients however the test ends (a failed ASSERT returns early).
  struct Joiner {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~Joiner() {
      stop = true;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } joiner{stop, clients};
  for (int i = 0; i < 4; ++i) clients.emplace_back(client);
  auto after_requests = [&](long n) {
    long target = done.load() + n;
    auto until = Clock::now() + std::chrono::seconds(20);
    while (done.load() < target && Clock::now() < until) ::poll(nullptr, 0, 5);
    ASSERT_GE(done.load(), target) << "the load stalled";
  };
  after_requests(20);
  long served_by_added = 0;
  for (int round = 0; round < 5; ++round) {
    std::string id = "added" + std::to_string(round);
    auto r = admin(g, "POST", "/api/providers/register",
                   R"({"id":")" + id + R"(","baseUrl":")" + added.base_url() + R"(","apiKey":")" + kUpstreamKey +
                       R"(","models":["added-model"]})");
    ASSERT_EQ(r.status, 201) << r.body;
    after_requests(10);
    auto c = http_post(g.url("/v1/chat/completions"), chat("added-model"));
    if (c.status == 200 && c.header("x-llmux-provider") == id) ++served_by_added;
    ASSERT_EQ(admin(g, "PATCH", "/api/providers/" + id, R"({"priority":3})").status, 200);
    after_requests(10);
    ASSERT_EQ(admin(g, "DELETE", "/api/providers/" + id).status, 200);
    after_requests(10);
  }
  stop = true;
  for (auto& t : clients) t.join();
  std::lock_guard lock(mu);
  for (auto& f : failures) ADD_FAILURE() << f;
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << done.load() << " requests failed";
  EXPECT_EQ(served_by_added, 5);
  std::printf("registered under load: %ld requests, none failed: %s\n", done.load(), failures.empty() ? "yes" : "no");
}

}  // namespace
}  // namespace llmux::test
