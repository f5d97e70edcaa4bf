// The admin API through the real binaries: who may call it (admin key, LLMUX_ADMIN_KEY, loopback,
// a network listener without a key), the provider reads with their live state and ETag, and the
// virtual keys, whose changes reach /v1 within the documented delay. No answer may contain a
// stored secret. Every wait polls a real request against a deadline.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "governance/key_refresher.hpp"
#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kAdminKey = "adm-0123456789-secret-a1b2";
constexpr const char* kMasterKey = "sk-gateway-master-9876";
constexpr const char* kProviderSecret = "sk-provider-very-secret-7777";

struct TempDir {
  std::string path;
  TempDir() {
    char dir[] = "/tmp/llmux-admin-it-XXXXXX";
    if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
    path = dir;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string provider_yaml(const std::string& id, const std::string& base_url) {
  return "  - id: " + id + "\n    base_url: " + base_url + "\n    api_key: " + kProviderSecret +
         "\n    default_model: fake-model\n    models:\n      - id: fake-model\n        name: Fake Model\n"
         "        context_window: 8192\n        input_per_mtok: 0.5\n        output_per_mtok: 1.5\n"
         "      - id: other-model\n";
}

std::vector<std::string> bearer(const std::string& key) { return {"Authorization: Bearer " + key}; }
std::vector<std::string> json_bearer(const std::string& key) {
  return {"Authorization: Bearer " + key, "Content-Type: application/json"};
}

// The OpenAI error shape: an "error" object with message, type, param and code.
void expect_openai_error(const HttpResponse& r, const std::string& code) {
  auto body = json::parse(r.body);
  const auto& e = body.at("error").as_object();
  EXPECT_TRUE(e.at("message").is_string()) << r.body;
  EXPECT_TRUE(e.at("type").is_string()) << r.body;
  EXPECT_TRUE(e.contains("param")) << r.body;
  EXPECT_EQ(e.at("code"), code.c_str()) << r.body;
}

std::string chat_body(const std::string& model) {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"Hello"}]})";
}

template <class Request, class Done>
std::pair<HttpResponse, bool> poll(Request request, Done done, milliseconds deadline) {
  auto until = Clock::now() + deadline;
  for (;;) {
    HttpResponse r = request();
    if (done(r)) return {r, true};
    if (Clock::now() > until) return {r, false};
  }
}

const json::object& by_id(const json::value& list, const std::string& key, const std::string& id) {
  for (const auto& p : list.at(key).as_array())
    if (p.at("id").as_string() == id) return p.as_object();
  throw std::runtime_error("no " + id + " in " + json::serialize(list));
}

TEST(AdminAuth, WithAnAdminKeyOnlyItOpensTheApiAndGatewayKeysDoNot) {
  auto fake = start_fake();
  auto gw = start_gateway(std::string("admin_key: ") + kAdminKey + "\nmaster_key: " + kMasterKey + "\nproviders:\n" +
                          provider_yaml("fake", fake.base_url()));
  EXPECT_NE(gw.process.output().find("admin API: on (admin key from admin_key)"), std::string::npos) << gw.process.output();
  for (const char* path : {"/api/providers", "/api/usage", "/api/providers/health", "/api/keys", "/api/providers/fake"}) {
    auto anonymous = http_get(gw.url(path));
    EXPECT_EQ(anonymous.status, 401) << path;
    expect_openai_error(anonymous, "missing_admin_key");
    auto wrong = http_get(gw.url(path), bearer("adm-0123456789-secret-a1b3"));
    EXPECT_EQ(wrong.status, 401) << path;
    expect_openai_error(wrong, "invalid_admin_key");
    auto gateway_key = http_get(gw.url(path), bearer(kMasterKey));
    EXPECT_EQ(gateway_key.status, 401) << path << ": the master key must not open the admin API";
    expect_openai_error(gateway_key, "invalid_admin_key");
    auto admin = http_get(gw.url(path), bearer(kAdminKey));
    EXPECT_EQ(admin.status, 200) << path << ": " << admin.body;
  }
  // /v1 is unchanged: the gateway key opens it, the admin key is not a gateway key.
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat_body("fake-model"), json_bearer(kMasterKey)).status, 200);
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat_body("fake-model"), json_bearer(kAdminKey)).status, 401);
}

TEST(AdminAuth, TheEnvironmentKeyWinsOverTheConfigOne) {
  auto fake = start_fake();
  auto gw = start_gateway(std::string("admin_key: ") + kAdminKey + "\nproviders:\n" + provider_yaml("fake", fake.base_url()),
                          {"LLMUX_ADMIN_KEY=env-admin-key-000000000042"});
  EXPECT_NE(gw.process.output().find("admin API: on (admin key from LLMUX_ADMIN_KEY)"), std::string::npos);
  EXPECT_EQ(http_get(gw.url("/api/providers"), bearer(kAdminKey)).status, 401);
  EXPECT_EQ(http_get(gw.url("/api/providers"), bearer("env-admin-key-000000000042")).status, 200);
}

TEST(AdminAuth, AConfigKeyMayComeFromAVariable) {
  auto fake = start_fake();
  auto gw = start_gateway("admin_key: ${MY_ADMIN_KEY}\nproviders:\n" + provider_yaml("fake", fake.base_url()),
                          {"MY_ADMIN_KEY=from-a-variable-1234567"});
  EXPECT_EQ(http_get(gw.url("/api/providers")).status, 401);
  EXPECT_EQ(http_get(gw.url("/api/providers"), bearer("from-a-variable-1234567")).status, 200);
}

// Bound to every interface (0.0.0.0) and reached over loopback: without an admin key the API is
// off, whoever asks; the gateway itself still serves.
TEST(AdminAuth, WithoutAKeyOffLoopbackTheApiIsOff) {
  auto fake = start_fake();
  auto gw = start_gateway("server:\n  host: 0.0.0.0\nproviders:\n" + provider_yaml("fake", fake.base_url()));
  EXPECT_NE(gw.process.output().find("admin API: off (no admin key and not loopback)"), std::string::npos)
      << gw.process.output();
  for (const char* path : {"/api/providers", "/api/usage", "/api/keys"}) {
    auto r = http_get(gw.url(path));
    EXPECT_EQ(r.status, 403) << path;
    expect_openai_error(r, "admin_disabled");
    EXPECT_NE(r.body.find("LLMUX_ADMIN_KEY"), std::string::npos) << r.body;
  }
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat_body("fake-model")).status, 200);

  auto keyed = start_gateway(std::string("admin_key: ") + kAdminKey + "\nserver:\n  host: 0.0.0.0\nproviders:\n" +
                             provider_yaml("fake", fake.base_url()));
  EXPECT_EQ(http_get(keyed.url("/api/providers"), bearer(kAdminKey)).status, 200);
}

TEST(AdminAuth, WithoutAKeyOnLoopbackTheApiIsOpenAsBeforeAndSaysSo) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider_yaml("fake", fake.base_url()));
  EXPECT_NE(gw.process.output().find("admin API: no admin key set; listening on loopback only"), std::string::npos)
      << gw.process.output();
  EXPECT_EQ(http_get(gw.url("/api/providers")).status, 200);
  EXPECT_EQ(http_get(gw.url("/api/keys")).status, 200);
}

class AdminReads : public ::testing::Test {
 protected:
  void SetUp() override {
    gw_ = start_gateway(std::string("admin_key: ") + kAdminKey + "\nstate_dir: " + state_.path + "\nproviders:\n" +
                        provider_yaml("fake", fake_.base_url()) + provider_yaml("dead", dead_url()) +
                        "router:\n  health: {interval: 0s}\n");
  }
  static std::string dead_url() {
    int port = 0;
    int fd = silent_listener(port);  // accepts nothing: its listing times out
    (void)fd;
    return "http://127.0.0.1:" + std::to_string(port) + "/v1";
  }
  HttpResponse get(const std::string& path) {
    auto r = http_get(gw_.url(path), bearer(kAdminKey));
    EXPECT_EQ(r.body.find(kProviderSecret), std::string::npos) << path << " shows the provider's key: " << r.body;
    EXPECT_EQ(r.body.find(kAdminKey), std::string::npos) << path << " shows the admin key";
    return r;
  }

  TempDir state_;
  FakeProvider fake_ = start_fake({"--models", "live-a,live-b"});
  Gateway gw_;
};

TEST_F(AdminReads, TheProviderListHasSettingsLiveStateAndNoSecret) {
  ASSERT_EQ(http_post(gw_.url("/v1/chat/completions"), chat_body("fake/fake-model")).status, 200);
  auto r = get("/api/providers");
  ASSERT_EQ(r.status, 200) << r.body;
  auto list = json::parse(r.body);
  const auto& p = by_id(list, "providers", "fake");
  EXPECT_EQ(p.at("name"), "fake");
  EXPECT_EQ(p.at("type"), "openai-compatible");
  EXPECT_EQ(p.at("enabled"), true);
  EXPECT_EQ(p.at("origin"), "config");
  EXPECT_EQ(p.at("baseUrl"), fake_.base_url().c_str());
  EXPECT_EQ(p.at("defaultModel"), "fake-model");
  EXPECT_EQ(p.at("apiKey"), "****7777");
  const auto& model = p.at("models").at(0).as_object();
  EXPECT_EQ(model.at("id"), "fake-model");
  EXPECT_EQ(model.at("name"), "Fake Model");
  EXPECT_EQ(model.at("contextWindow"), 8192);
  EXPECT_EQ(model.at("pricing").at("input").to_number<double>(), 0.5);
  EXPECT_EQ(model.at("pricing").at("output").to_number<double>(), 1.5);
  EXPECT_TRUE(p.at("health").at("status").is_string());
  EXPECT_EQ(p.at("breaker"), "closed");
  EXPECT_EQ(p.at("requestsPerMinute"), 1);
  EXPECT_GT(p.at("p95Ms").to_number<double>(), 0.0);
  EXPECT_EQ(p.at("errors"), 0);
  EXPECT_EQ(by_id(list, "providers", "dead").at("requestsPerMinute"), 0);
  // The methods the path has, for the others.
  auto posted = http_request("POST", gw_.url("/api/providers"), "{}", json_bearer(kAdminKey));
  EXPECT_EQ(posted.status, 405);
}

TEST_F(AdminReads, OneProviderHasAnETagThatFollowsItsText) {
  auto first = get("/api/providers/fake");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body).at("id"), "fake");
  std::string etag = first.header("etag");
  EXPECT_TRUE(std::regex_match(etag, std::regex("\"[0-9a-f]{16}\""))) << etag;
  EXPECT_EQ(get("/api/providers/fake").header("etag"), etag) << "the same text, the same ETag";
  EXPECT_NE(get("/api/providers/dead").header("etag"), etag);

  auto missing = get("/api/providers/nope");
  EXPECT_EQ(missing.status, 404);
  expect_openai_error(missing, "provider_not_found");

  {  // the provider's text changes: so does its ETag
    std::ifstream in(gw_.config_path);
    std::stringstream text;
    text << in.rdbuf();
    std::string changed = std::regex_replace(text.str(), std::regex("id: other-model"), "id: third-model");
    std::ofstream(gw_.config_path, std::ios::trunc) << changed;
  }
  gw_.process.signal(SIGHUP);
  gw_.process.wait_for_line("reloaded:");
  auto after = get("/api/providers/fake");
  EXPECT_NE(after.header("etag"), etag);
  EXPECT_EQ(json::parse(after.body).at("models").at(1).at("id"), "third-model");
}

TEST_F(AdminReads, ModelsConfiguredAndLive) {
  auto r = get("/api/providers/fake/models");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = json::parse(r.body);
  EXPECT_EQ(body.at("configured").at(0).at("id"), "fake-model");
  EXPECT_EQ(body.at("configured").at(1).at("id"), "other-model");
  ASSERT_TRUE(body.at("live").is_array()) << r.body;
  ASSERT_EQ(body.at("live").as_array().size(), 2u) << r.body;
  EXPECT_EQ(body.at("live").at(0).at("id"), "live-a");
  EXPECT_EQ(body.at("live").at(1).at("id"), "live-b");
  EXPECT_TRUE(body.at("liveError").is_null());

  auto dead = get("/api/providers/dead/models");
  ASSERT_EQ(dead.status, 200) << dead.body;
  auto d = json::parse(dead.body);
  EXPECT_TRUE(d.at("live").is_null()) << dead.body;
  EXPECT_TRUE(d.at("liveError").is_string()) << dead.body;
  EXPECT_EQ(d.at("configured").as_array().size(), 2u);

  auto all = get("/api/providers/models");
  ASSERT_EQ(all.status, 200) << all.body;
  size_t of_fake = 0;
  auto listed = json::parse(all.body);
  for (const auto& m : listed.at("models").as_array())
    if (m.at("provider") == "fake") ++of_fake;
  EXPECT_EQ(of_fake, 2u) << all.body;
}

// The dead provider's listing takes its 3 s timeout; the client gives up long before. Its answer
// has nowhere to go and is dropped; the admin threads and the gateway go on serving.
TEST_F(AdminReads, AClientThatLeavesBeforeTheAnswerLeavesNothingBroken) {
  auto left = http_request("GET", gw_.url("/api/providers/dead/models"), {}, bearer(kAdminKey), milliseconds(300));
  EXPECT_EQ(left.status, 0) << left.body;
  auto after = get("/api/providers/dead/models");
  EXPECT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(get("/api/providers").status, 200);
  EXPECT_EQ(http_post(gw_.url("/v1/chat/completions"), chat_body("fake/fake-model")).status, 200);
}

class AdminKeys : public ::testing::Test {
 protected:
  void SetUp() override {
    gw_ = start_gateway(std::string("admin_key: ") + kAdminKey + "\nstate_dir: " + state_.path + "\nproviders:\n" +
                        provider_yaml("fake", fake_.base_url()));
  }
  HttpResponse call(const std::string& method, const std::string& path, const std::string& body = {}) {
    return http_request(method, gw_.url(path), body, json_bearer(kAdminKey));
  }
  HttpResponse chat(const std::string& model, const std::string& key) {
    return http_post(gw_.url("/v1/chat/completions"), chat_body(model), json_bearer(key));
  }
  static constexpr milliseconds kPropagation{governance::kKeyPropagationMs * 3};

  TempDir state_;
  FakeProvider fake_ = start_fake();
  Gateway gw_;
};

TEST_F(AdminKeys, CreateListPatchRevokeReachTheGateway) {
  auto created = call("POST", "/api/keys", R"({"name":"team-a","rpm":100,"budget":{"daily":5}})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto c = json::parse(created.body);
  std::string secret(c.at("secret").as_string());
  std::string id(c.at("key").at("id").as_string());
  EXPECT_EQ(secret.rfind("llmux-sk-", 0), 0u);
  EXPECT_EQ(created.header("location"), "/api/keys/" + id);
  EXPECT_EQ(c.at("key").at("name"), "team-a");
  EXPECT_EQ(c.at("key").at("rpm"), 100);
  EXPECT_EQ(c.at("key").at("budget").at("daily").to_number<double>(), 5.0);
  EXPECT_EQ(c.at("key").at("status"), "active");

  auto listed = call("GET", "/api/keys");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body.find(secret), std::string::npos) << "the key is shown once, at create";
  EXPECT_EQ(by_id(json::parse(listed.body), "keys", id).at("prefix"), secret.substr(0, 15).c_str());
  auto one = call("GET", "/api/keys/" + id);
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.body.find(secret), std::string::npos);
  EXPECT_EQ(json::parse(one.body).at("key").at("name"), "team-a");

  auto [works, worked] = poll([&] { return chat("fake-model", secret); }, [](auto& r) { return r.status == 200; }, kPropagation);
  EXPECT_TRUE(worked) << works.status << " " << works.body;

  auto patched = call("PATCH", "/api/keys/" + id, R"({"models":["other-model"]})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(json::parse(patched.body).at("key").at("models").at(0), "other-model");
  auto [narrowed, refused] = poll([&] { return chat("fake-model", secret); }, [](auto& r) { return r.status == 403; }, kPropagation);
  EXPECT_TRUE(refused) << narrowed.status << " " << narrowed.body;
  EXPECT_EQ(chat("other-model", secret).status, 200);

  auto revoked = call("DELETE", "/api/keys/" + id);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(json::parse(revoked.body).at("key").at("status"), "revoked");
  auto [gone, stopped] = poll([&] { return chat("other-model", secret); }, [](auto& r) { return r.status == 401; }, kPropagation);
  EXPECT_TRUE(stopped) << gone.status << " " << gone.body;

  // Each change is in the audit log, by the admin key's id, with no value of any key.
  std::string log_path = state_.path + "/audit.log";
  struct stat st {};
  ASSERT_EQ(::stat(log_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(log_path);
  std::vector<json::value> lines;
  for (std::string line; std::getline(in, line);) {
    EXPECT_EQ(line.find(secret), std::string::npos);
    EXPECT_EQ(line.find(kAdminKey), std::string::npos);
    lines.push_back(json::parse(line));
  }
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].at("action"), "key.create");
  EXPECT_EQ(lines[0].at("admin"), "admin-key …a1b2");
  EXPECT_EQ(lines[0].at("provider"), id.c_str());
  EXPECT_EQ(lines[0].at("fields"), json::parse(R"(["name","rpm","budget"])"));
  EXPECT_EQ(lines[1].at("action"), "key.update");
  EXPECT_EQ(lines[2].at("action"), "key.revoke");
  EXPECT_TRUE(lines[2].at("time").is_string());
}

TEST_F(AdminKeys, BadRequestsGetEveryProblemAtOnce) {
  auto bad = call("POST", "/api/keys", R"({"rpm":-1,"colour":"red","expires":"2001-01-01"})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  auto e = json::parse(bad.body).at("error");
  EXPECT_EQ(e.at("code"), "invalid_key_request");
  std::set<std::string> fields;
  for (const auto& p : e.at("errors").as_array()) fields.insert(std::string(p.at("field").as_string()));
  EXPECT_EQ(fields, (std::set<std::string>{"rpm", "colour", "expires", "name"})) << bad.body;

  auto not_json = call("POST", "/api/keys", "{name");
  EXPECT_EQ(not_json.status, 400);
  expect_openai_error(not_json, "invalid_json");

  ASSERT_EQ(call("POST", "/api/keys", R"({"name":"dup"})").status, 201);
  auto dup = call("POST", "/api/keys", R"({"name":"dup"})");
  EXPECT_EQ(dup.status, 409) << dup.body;
  expect_openai_error(dup, "key_name_taken");

  auto missing = call("GET", "/api/keys/vk_0000000000000000");
  EXPECT_EQ(missing.status, 404);
  expect_openai_error(missing, "key_not_found");
  EXPECT_EQ(call("PUT", "/api/keys/vk_0000000000000000", "{}").status, 405);
}

}  // namespace
}  // namespace llmux::test
