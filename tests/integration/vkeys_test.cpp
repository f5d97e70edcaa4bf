// Virtual keys through the real binaries: `llmux keys` against a running gateway. A created key
// works and names its ledger rows; narrowing its models gives 403 for the others; revoking it
// gives 401 within the documented propagation delay; an expired key gets 401; a gateway with
// stored keys is never open, not even once they are all revoked. Every wait polls a real
// request against a deadline.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>

#include "cli_harness.hpp"
#include "governance/key_refresher.hpp"
#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct TempDir {
  std::string path;
  TempDir() {
    char dir[] = "/tmp/llmux-vkeys-it-XXXXXX";
    if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
    path = dir;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string config_for(const std::string& base_url, const std::string& state_dir, const std::string& extra = "") {
  return extra + "state_dir: " + state_dir + "\nproviders:\n  - id: fake\n    base_url: " + base_url +
         "\n    models:\n      - id: fake-model\n      - id: other-model\n";
}

std::string chat_body(const std::string& model) {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"Hello"}]})";
}

HttpResponse chat(const Gateway& gw, const std::string& model, const std::string& key) {
  std::vector<std::string> headers{"Content-Type: application/json"};
  if (!key.empty()) headers.push_back("Authorization: Bearer " + key);
  return http_post(gw.url("/v1/chat/completions"), chat_body(model), headers);
}

std::string error_code(const HttpResponse& r) {
  try {
    json::value body = json::parse(r.body);
    const auto& code = body.at("error").at("code");
    return code.is_string() ? std::string(code.as_string()) : "";
  } catch (const std::exception&) {
    return {};
  }
}

// Repeats the request until `done` holds for its answer or `deadline` passes; returns the last
// answer and whether `done` held.
template <class Request, class Done>
std::pair<HttpResponse, bool> poll(Request request, Done done, milliseconds deadline) {
  auto until = Clock::now() + deadline;
  for (;;) {
    HttpResponse r = request();
    if (done(r)) return {r, true};
    if (Clock::now() > until) return {r, false};
  }
}

class VirtualKeysTest : public ::testing::Test {
 protected:
  CliResult keys(std::vector<std::string> args) {
    args.insert(args.begin(), "keys");
    args.push_back("--config");
    args.push_back(config_file_);
    return sandbox_.run(args);
  }
  std::string create(std::vector<std::string> args) {
    args.insert(args.begin(), "create");
    auto r = keys(args);
    EXPECT_EQ(r.exit, 0) << r.all();
    std::string key = r.out.substr(0, r.out.find('\n'));
    EXPECT_EQ(key.rfind("llmux-sk-", 0), 0u) << r.out;
    return key;
  }
  void start(const std::string& extra = "") {
    config_ = config_for(fake_.base_url(), state_.path, extra);
    config_file_ = temp_file(config_);
    gw_ = start_gateway(config_);
  }

  TempDir state_;
  FakeProvider fake_ = start_fake();
  Sandbox sandbox_;
  std::string config_, config_file_;
  Gateway gw_;
};

TEST_F(VirtualKeysTest, LifecycleThroughTheCli) {
  start();
  // No key anywhere: the gateway is open, as before.
  ASSERT_EQ(chat(gw_, "fake-model", "").status, 200);

  std::string key = create({"--name", "team-a", "--rpm", "100000", "--budget-daily", "2.5"});
  // From now on a key is required.
  auto [closed, closed_in_time] =
      poll([&] { return chat(gw_, "fake-model", ""); }, [](const HttpResponse& r) { return r.status == 401; },
           milliseconds(governance::kKeyPropagationMs));
  ASSERT_TRUE(closed_in_time) << closed.status << " " << closed.body;
  EXPECT_EQ(error_code(closed), "missing_api_key");
  auto works = chat(gw_, "fake-model", key);
  ASSERT_EQ(works.status, 200) << works.body;
  auto unknown = chat(gw_, "fake-model", "llmux-sk-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(error_code(unknown), "invalid_api_key");

  // The ledger names the key (the open requests before it have none); the store and the
  // listing never show it. A row is recorded just after its answer: poll until it is there.
  auto team_a_requests = [](const HttpResponse& r) -> int64_t {
    if (r.status != 200) return -1;
    json::value report = json::parse(r.body);
    for (const auto& g : report.at("groups").as_array())
      if (g.at("group").as_string() == "team-a") return g.at("requests").as_int64();
    return 0;
  };
  // A team's key cannot read the operator's API: every team's usage, the providers.
  for (const char* path : {"/api/usage", "/api/providers"}) {
    auto refused = http_get(gw_.url(path), {"Authorization: Bearer " + key});
    EXPECT_EQ(refused.status, 403) << path << " " << refused.body;
    EXPECT_EQ(error_code(refused), "virtual_key_not_allowed") << path;
  }
  // The operator reads the same ledger with the CLI.
  auto usage_by_key = [&] {
    auto r = sandbox_.run({"usage", "--by", "key", "--json", "--config", config_file_});
    HttpResponse as_response;
    as_response.status = r.exit == 0 ? 200 : 500;
    as_response.body = r.out;
    return as_response;
  };
  auto [usage, named] = poll(usage_by_key, [&](const HttpResponse& r) { return team_a_requests(r) > 0; },
                             milliseconds(10000));
  ASSERT_TRUE(named) << usage.body;
  EXPECT_EQ(team_a_requests(usage), 1) << usage.body;
  auto listed = keys({"list", "--json"});
  ASSERT_EQ(listed.exit, 0) << listed.all();
  EXPECT_EQ(listed.out.find(key), std::string::npos);
  EXPECT_EQ(listed.out.find(key.substr(9)), std::string::npos);
  auto list = json::parse(listed.out).as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("name").as_string(), "team-a");
  EXPECT_EQ(list[0].at("prefix").as_string(), key.substr(0, 15));
  EXPECT_EQ(list[0].at("limits").at("rpm").as_int64(), 100000);
  EXPECT_EQ(list[0].at("budget").at("daily_usd").as_double(), 2.5);
  EXPECT_EQ(list[0].at("status").as_string(), "active");
  auto on_disk = read_text(state_.path + "/keys.db");
  EXPECT_EQ(on_disk.find(key), std::string::npos);

  // Narrow the key to other-model.
  auto updated = keys({"update", "team-a", "--models", "other-model"});
  ASSERT_EQ(updated.exit, 0) << updated.all();
  auto [denied, denied_in_time] =
      poll([&] { return chat(gw_, "fake-model", key); }, [](const HttpResponse& r) { return r.status == 403; },
           milliseconds(governance::kKeyPropagationMs));
  ASSERT_TRUE(denied_in_time) << denied.status << " " << denied.body;
  EXPECT_EQ(error_code(denied), "model_not_allowed");
  EXPECT_EQ(chat(gw_, "other-model", key).status, 200);
  EXPECT_EQ(chat(gw_, "fake/other-model", key).status, 200);
  auto fallback = http_post(gw_.url("/v1/chat/completions"), chat_body("other-model"),
                            {"Content-Type: application/json", "Authorization: Bearer " + key,
                             "x-llmux-fallbacks: fake-model"});
  EXPECT_EQ(fallback.status, 403) << fallback.body;
  auto models = http_get(gw_.url("/v1/models"), {"Authorization: Bearer " + key});
  ASSERT_EQ(models.status, 200);
  auto data = json::parse(models.body).at("data").as_array();
  ASSERT_EQ(data.size(), 1u) << models.body;
  EXPECT_EQ(data[0].at("id").as_string(), "fake/other-model");
  EXPECT_EQ(http_get(gw_.url("/v1/models/fake%2Ffake-model"), {"Authorization: Bearer " + key}).status, 403);

  // Revoke: refused within the documented delay, counted from the command's exit.
  auto revoked = keys({"revoke", "team-a"});
  ASSERT_EQ(revoked.exit, 0) << revoked.all();
  auto [gone, gone_in_time] =
      poll([&] { return chat(gw_, "other-model", key); }, [](const HttpResponse& r) { return r.status == 401; },
           milliseconds(governance::kKeyPropagationMs));
  ASSERT_TRUE(gone_in_time) << gone.status << " " << gone.body;
  EXPECT_EQ(error_code(gone), "revoked_api_key");
  // The last key revoked does not open the gateway again.
  EXPECT_EQ(chat(gw_, "fake-model", "").status, 401);
  auto shown = keys({"show", "team-a", "--json"});
  ASSERT_EQ(shown.exit, 0) << shown.all();
  EXPECT_EQ(json::parse(shown.out).at("status").as_string(), "revoked");
  EXPECT_EQ(keys({"show", "nobody"}).exit, 3);
}

TEST_F(VirtualKeysTest, AnExpiredKeyGets401AndConfigKeysKeepWorkingBesideVirtualOnes) {
  start("master_key: mk-admin-0001\n");
  std::string key = create({"--name", "short", "--expires", "3s"});
  auto [works, in_time] = poll([&] { return chat(gw_, "fake-model", key); },
                               [](const HttpResponse& r) { return r.status == 200; },
                               milliseconds(governance::kKeyPropagationMs));
  ASSERT_TRUE(in_time) << works.status << " " << works.body;
  EXPECT_EQ(chat(gw_, "fake-model", "mk-admin-0001").status, 200);
  auto [expired, expired_in_time] = poll([&] { return chat(gw_, "fake-model", key); },
                                         [](const HttpResponse& r) { return r.status == 401; }, milliseconds(5000));
  ASSERT_TRUE(expired_in_time) << expired.status << " " << expired.body;
  EXPECT_EQ(error_code(expired), "expired_api_key");
  EXPECT_EQ(chat(gw_, "fake-model", "mk-admin-0001").status, 200);

  auto listed = keys({"list"});
  ASSERT_EQ(listed.exit, 0) << listed.all();
  EXPECT_NE(listed.out.find("expired"), std::string::npos) << listed.out;
  EXPECT_EQ(keys({"create", "--name", "bad name"}).exit, 2);
  EXPECT_EQ(keys({"create", "--name", "x", "--expires", "soon"}).exit, 2);
  EXPECT_EQ(keys({"create", "--name", "short"}).exit, 2);  // the name is taken until revoked

  // Both keys' rows, by their names, once recorded.
  auto [usage, named] = poll(
      [&] { return http_get(gw_.url("/api/usage?by=key"), {"Authorization: Bearer mk-admin-0001"}); },
      [](const HttpResponse& r) {
        if (r.status != 200) return false;
        std::string groups = json::serialize(json::parse(r.body).at("groups"));
        return groups.find("\"group\":\"master_key\"") != std::string::npos &&
               groups.find("\"group\":\"short\"") != std::string::npos;
      },
      milliseconds(10000));
  EXPECT_TRUE(named) << usage.body;
}

}  // namespace
}  // namespace llmux::test
