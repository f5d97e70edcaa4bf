// Provider health through the real binary: periodic probes with the provider's credentials, the
// /api/providers endpoints, the alerts.webhook POST on a state change, and breaker state that
// survives a config reload.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"
#include "webhook_listener.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

json::array fake_requests(const FakeProvider& fake) {
  return json::parse(http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests").body).as_array();
}

std::string provider(const std::string& id, const FakeProvider& fake, const std::string& extra = "") {
  return "  " + id + ":\n    base_url: " + fake.base_url() + "\n    api_key: k-fake\n    max_retries: 0\n" +
         "    models: [fake-model]\n    default_model: fake-model\n" + extra;
}

std::string chat(const std::string& model) {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}]})";
}

const json::object& by_id(const json::value& list, const std::string& id) {
  for (const auto& p : list.at("providers").as_array())
    if (p.at("id") == id.c_str()) return p.as_object();
  throw std::runtime_error("no provider " + id + " in " + json::serialize(list));
}

// A provider whose every answer is a 503 goes degraded, then down; the webhook hears each change
// as {provider, from, to, reason, time}, the endpoints show it, and its breaker is open before
// any request failed there. The healthy one is probed with its credential (the fake requires it).
TEST(Health, ProbesFindADownProviderAlertTheWebhookAndOpenItsBreaker) {
  auto fake = start_fake({"--require-key", "k-fake"});
  WebhookListener hook;
  std::string config = "providers:\n" + provider("good", fake) +
                       provider("sick", fake, "    headers: {x-fake-status: \"503\"}\n") +
                       "models:\n  smart:\n    deployments:\n"
                       "      - {provider: sick, model: fake-model, priority: 1}\n"
                       "      - {provider: good, model: fake-model, priority: 2}\n"
                       "router:\n  breaker: {consecutive_failures: 100, cooldown: 60s}\n"
                       "  health: {interval: 100ms, timeout: 2s}\n"
                       "alerts:\n  webhook: " + hook.url("/hook") + "\n";
  auto gw = start_gateway(config);

  std::vector<json::object> sick_changes;
  bool good_healthy = false;
  while (!(good_healthy && !sick_changes.empty() && sick_changes.back().at("to") == "down")) {
    auto received = hook.next();
    ASSERT_TRUE(received) << "no webhook POST within the deadline";
    EXPECT_EQ(received->head.rfind("POST /hook HTTP/1.1", 0), 0u) << received->head;
    EXPECT_NE(received->head.find("application/json"), std::string::npos) << received->head;
    auto event = json::parse(received->body).as_object();
    for (const char* key : {"provider", "from", "to", "reason", "time"}) ASSERT_TRUE(event.contains(key)) << received->body;
    if (event.at("provider") == "good") {
      EXPECT_EQ(event.at("to"), "healthy") << received->body;
      good_healthy = true;
    } else {
      sick_changes.push_back(event);
    }
  }
  ASSERT_EQ(sick_changes.size(), 2u);
  EXPECT_EQ(sick_changes[0].at("from"), "unknown");
  EXPECT_EQ(sick_changes[0].at("to"), "degraded");
  EXPECT_EQ(sick_changes[1].at("from"), "degraded");
  std::string reason(sick_changes[1].at("reason").as_string());
  EXPECT_EQ(reason.rfind("3 probes failed in a row", 0), 0u) << reason;
  EXPECT_NE(reason.find("503"), std::string::npos) << reason;
  std::string time(sick_changes[1].at("time").as_string());
  EXPECT_EQ(time.size(), 20u) << time;  // 2026-12-01T11:20:00Z
  EXPECT_EQ(time.back(), 'Z') << time;

  auto health = http_get(gw.url("/api/providers/health"));
  ASSERT_EQ(health.status, 200) << health.body;
  auto h = json::parse(health.body);
  EXPECT_EQ(by_id(h, "sick").at("status"), "down");
  EXPECT_EQ(by_id(h, "sick").at("uptime_percent").to_number<double>(), 0.0);
  EXPECT_NE(std::string(by_id(h, "sick").at("last_error").as_string()).find("503"), std::string::npos);
  EXPECT_FALSE(by_id(h, "sick").at("last_check").is_null());
  EXPECT_EQ(by_id(h, "good").at("status"), "healthy");
  EXPECT_EQ(by_id(h, "good").at("uptime_percent").to_number<double>(), 100.0);
  EXPECT_TRUE(by_id(h, "good").at("latency_ms").is_int64());
  EXPECT_TRUE(by_id(h, "good").at("last_error").is_null());

  auto listed = http_get(gw.url("/api/providers"));
  ASSERT_EQ(listed.status, 200) << listed.body;
  auto l = json::parse(listed.body);
  const auto& sick = by_id(l, "sick");
  EXPECT_EQ(sick.at("type"), "openai-compatible");
  EXPECT_EQ(sick.at("enabled"), true);
  EXPECT_EQ(sick.at("default_model"), "fake-model");
  EXPECT_EQ(sick.at("health").at("status"), "down");
  ASSERT_FALSE(sick.at("deployments").as_array().empty());
  EXPECT_EQ(sick.at("deployments").at(0).at("deployment"), "sick/fake-model");
  EXPECT_EQ(sick.at("deployments").at(0).at("breaker"), "open");
  EXPECT_EQ(by_id(l, "good").at("deployments").at(0).at("breaker"), "closed");

  // The chain skips the tripped deployment without sending it anything.
  auto r = http_post(gw.url("/v1/chat/completions"), chat("smart"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-llmux-attempts"), "1; sick/fake-model=open,good/fake-model=200");

  // Probes asked for the model listing with the provider's credential; only the probes did.
  size_t probes = 0;
  for (const auto& req : fake_requests(fake)) {
    if (req.at("target") != "/v1/models") continue;
    ++probes;
    EXPECT_EQ(req.at("method"), "GET");
    EXPECT_EQ(req.at("headers").at("authorization"), "Bearer k-fake");
  }
  EXPECT_GE(probes, 4u);  // 3 for sick, at least 1 for good
}

TEST(Health, AConfiguredPathIsProbedInsteadOfTheListing) {
  auto fake = start_fake();
  WebhookListener hook;
  auto gw = start_gateway("providers:\n" + provider("a", fake) +
                          "router:\n  health: {interval: 100ms, path: /models/fake-model}\n"
                          "alerts:\n  webhook: " + hook.url("/h") + "\n");
  auto received = hook.next();
  ASSERT_TRUE(received);
  EXPECT_EQ(json::parse(received->body).at("to"), "healthy") << received->body;
  bool probed = false;
  for (const auto& req : fake_requests(fake)) {
    EXPECT_NE(req.at("target"), "/v1/models");
    probed = probed || req.at("target") == "/v1/models/fake-model";
  }
  EXPECT_TRUE(probed);
}

// Live attempts count too: failing requests take a provider down with health probes off.
TEST(Health, LiveFailuresAreRecordedAndShown) {
  auto fake = start_fake();
  WebhookListener hook;
  auto gw = start_gateway("providers:\n" + provider("flaky", fake, "    default_params: {fake: {status: 500}}\n") +
                          "router:\n  health: {interval: 0s}\n"
                          "alerts:\n  webhook: " + hook.url("/h") + "\n");
  for (int i = 0; i < 5; ++i) EXPECT_GE(http_post(gw.url("/v1/chat/completions"), chat("flaky/fake-model")).status, 500);
  auto received = hook.next();
  ASSERT_TRUE(received);
  auto event = json::parse(received->body);
  EXPECT_EQ(event.at("to"), "down") << received->body;
  EXPECT_EQ(std::string(event.at("reason").as_string()).rfind("5 requests failed in a row", 0), 0u) << received->body;
  auto h = json::parse(http_get(gw.url("/api/providers/health")).body);
  EXPECT_EQ(by_id(h, "flaky").at("window").at("attempts"), 5);
  EXPECT_EQ(by_id(h, "flaky").at("window").at("failures"), 5);
  EXPECT_TRUE(by_id(h, "flaky").at("last_check").is_null());  // never probed
}

TEST(Health, TheEndpointsNeedTheGatewayKeyAndOtherApiPathsStay404) {
  auto fake = start_fake();
  auto gw = start_gateway("master_key: sk-gw\nproviders:\n" + provider("a", fake) + "router:\n  health: {interval: 0s}\n");
  for (const char* path : {"/api/providers", "/api/providers/health"}) {
    auto anonymous = http_get(gw.url(path));
    EXPECT_EQ(anonymous.status, 401) << path;
    EXPECT_TRUE(json::parse(anonymous.body).at("error").is_object()) << anonymous.body;
    auto keyed = http_get(gw.url(path), {"Authorization: Bearer sk-gw"});
    EXPECT_EQ(keyed.status, 200) << path << ": " << keyed.body;
    EXPECT_EQ(by_id(json::parse(keyed.body), "a").at("id"), "a");
    auto posted = http_request("POST", gw.url(path), "{}", {"Authorization: Bearer sk-gw"});
    EXPECT_EQ(posted.status, 405) << path;
  }
  auto unknown = http_get(gw.url("/api/nope"), {"Authorization: Bearer sk-gw"});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(json::parse(unknown.body).at("error").at("code"), "unknown_url") << unknown.body;
  auto no_provider = http_get(gw.url("/api/providers/nope"), {"Authorization: Bearer sk-gw"});
  EXPECT_EQ(no_provider.status, 404);
  EXPECT_EQ(json::parse(no_provider.body).at("error").at("code"), "provider_not_found") << no_provider.body;
}

// The reload path (SIGHUP) builds a new snapshot; the open breaker of a deployment that stays is
// still open in it, and after its cooldown the deployment is probed again.
TEST(Health, AnOpenBreakerStaysOpenAcrossAReloadAndIsProbedAfterItsCooldown) {
  auto fake = start_fake();
  auto providers = [&](const std::string& more) {
    return "providers:\n" + provider("down", fake, "    default_params: {fake: {status: 503}}\n") +
           provider("backup", fake) + more +
           "models:\n  smart:\n    deployments:\n"
           "      - {provider: down, model: fake-model, priority: 1}\n"
           "      - {provider: backup, model: fake-model, priority: 2}\n"
           "router:\n  breaker: {consecutive_failures: 2, cooldown: 3s}\n  health: {interval: 0s}\n";
  };
  auto gw = start_gateway(providers(""));
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat("down/fake-model"), {"x-llmux-fallbacks: none"}).status, 503);
  EXPECT_EQ(http_post(gw.url("/v1/chat/completions"), chat("down/fake-model"), {"x-llmux-fallbacks: none"}).status, 503);
  auto opened_by = std::chrono::steady_clock::now();  // the second failure opened it
  auto skipped = http_post(gw.url("/v1/chat/completions"), chat("smart"));
  ASSERT_EQ(skipped.header("x-llmux-attempts"), "1; down/fake-model=open,backup/fake-model=200");

  {  // a changed config (a new provider), so the reload makes a different snapshot
    std::ofstream out(gw.config_path, std::ios::trunc);
    out << providers(provider("extra", fake));
  }
  gw.process.signal(SIGHUP);
  gw.process.wait_for_line("reloaded:");
  auto listed = json::parse(http_get(gw.url("/api/providers")).body);
  EXPECT_EQ(by_id(listed, "extra").at("health").at("status"), "unknown");  // the reload took effect
  EXPECT_EQ(by_id(listed, "down").at("deployments").at(0).at("breaker"), "open");

  auto after_reload = http_post(gw.url("/v1/chat/completions"), chat("smart"));
  EXPECT_EQ(after_reload.status, 200) << after_reload.body;
  EXPECT_EQ(after_reload.header("x-llmux-attempts"), "1; down/fake-model=open,backup/fake-model=200");

  // Waiting out the cooldown is the behaviour under test (time passing), not a synchronisation.
  std::this_thread::sleep_until(opened_by + 3100ms);
  auto probed = http_post(gw.url("/v1/chat/completions"), chat("smart"));
  EXPECT_EQ(probed.status, 200) << probed.body;
  EXPECT_EQ(probed.header("x-llmux-attempts"), "2; down/fake-model=503,backup/fake-model=200");
}

}  // namespace
}  // namespace llmux::test
