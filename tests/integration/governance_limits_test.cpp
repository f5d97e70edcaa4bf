// Rate limits and budgets through the real binaries (llmux + fake provider on loopback): a
// provider over its limit or budget is skipped for the next deployment, a lone one answers 429 /
// 402; a gateway key over its limit gets 429 with Retry-After, over its budget 402 with the reset
// time; 100 simultaneous requests cannot spend past a budget; spend survives a restart.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <future>
#include <thread>

#include "harness.hpp"
#include "webhook_listener.hpp"

namespace llmux::test {
namespace {

using Clock = std::chrono::steady_clock;

struct TempDir {
  std::string path;
  TempDir() {
    char dir[] = "/tmp/llmux-gov-it-XXXXXX";
    if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
    path = dir;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// Output costs $0.001 a token (1.0 per 1K, the seeds' unit), input nothing: a request with
// max_tokens 3 reserves exactly $0.003, and the fake provider's answer (more than three words,
// cut at max_tokens) costs exactly that.
std::string provider(const std::string& id, const std::string& base_url, const std::string& extra = "") {
  return "  - id: " + id + "\n    base_url: " + base_url +
         "\n    models:\n      - id: fake-model\n        pricing: { input: 0, output: 1.0 }\n" + extra;
}

std::string two_deployments() {
  return "models:\n  chain:\n    deployments:\n      - {provider: a, model: fake-model, priority: 1}\n"
         "      - {provider: b, model: fake-model, priority: 2}\n";
}

const std::string kChat = R"({"model":"fake-model","max_tokens":3,"messages":[{"role":"user","content":"hello there"}]})";
const std::string kChain = R"({"model":"chain","max_tokens":3,"messages":[{"role":"user","content":"hello there"}]})";

HttpResponse post(const Gateway& gw, const std::string& body, const std::string& key = "") {
  std::vector<std::string> headers{"Content-Type: application/json"};
  if (!key.empty()) headers.push_back("Authorization: Bearer " + key);
  return http_post(gw.url("/v1/chat/completions"), body, headers);
}

std::string error_code(const HttpResponse& r) {
  auto at = r.body.find("\"code\":\"");
  if (at == std::string::npos) return {};
  at += 8;
  return r.body.substr(at, r.body.find('"', at) - at);
}

TEST(GovernanceLimits, AProviderOverItsRateLimitIsSkippedForTheNextDeployment) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider("a", fake.base_url(), "    rateLimit: { rpm: 1 }\n") +
                          provider("b", fake.base_url()) + two_deployments());
  auto first = post(gw, kChain);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-llmux-provider"), "a");
  auto second = post(gw, kChain);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.header("x-llmux-provider"), "b");
  EXPECT_EQ(second.header("x-llmux-attempts"), "1; a/fake-model=limited,b/fake-model=200");
}

TEST(GovernanceLimits, ALoneProviderOverItsLimitAnswers429WithRetryAfter) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider("a", fake.base_url(), "    rate_limit: { rpm: 1 }\n"));
  auto begun = Clock::now();
  ASSERT_EQ(post(gw, kChat).status, 200);
  auto refused = post(gw, kChat);
  auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - begun).count() + 1;
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(error_code(refused), "rate_limit_exceeded") << refused.body;
  EXPECT_NE(refused.body.find("\"type\":\"rate_limit_error\""), std::string::npos) << refused.body;
  // The admitted request leaves the window 59-60 s after it was counted.
  int retry = std::stoi(refused.header("retry-after"));
  EXPECT_LE(retry, 60);
  EXPECT_GE(retry, 59 - elapsed);
}

TEST(GovernanceLimits, AKeyOverItsLimitGets429AndOtherKeysDoNot) {
  auto fake = start_fake();
  auto gw = start_gateway("api_keys:\n  - { name: team-a, key: key-a, rpm: 2 }\n  - key-b\nproviders:\n" +
                          provider("a", fake.base_url()));
  auto begun = Clock::now();
  EXPECT_EQ(post(gw, kChat, "key-a").status, 200);
  EXPECT_EQ(post(gw, kChat, "key-a").status, 200);
  auto refused = post(gw, kChat, "key-a");
  auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - begun).count() + 1;
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(error_code(refused), "rate_limit_exceeded");
  EXPECT_NE(refused.body.find("gateway key 'team-a' is over its rpm limit (2)"), std::string::npos) << refused.body;
  int retry = std::stoi(refused.header("retry-after"));
  EXPECT_LE(retry, 60);
  EXPECT_GE(retry, 59 - elapsed);
  EXPECT_EQ(post(gw, kChat, "key-b").status, 200);
  // The refusal is counted for the key, by its name.
  auto scrape = http_get(gw.url("/metrics"));
  EXPECT_NE(scrape.body.find("llmux_rate_limit_rejections_total{scope=\"key\",name=\"team-a\"} 1"), std::string::npos)
      << scrape.body;
}

TEST(GovernanceLimits, AKeysConcurrencyLimitHoldsWhileARequestIsInFlight) {
  auto fake = start_fake();
  auto gw = start_gateway("api_keys:\n  - { key: key-a, concurrent: 1 }\nproviders:\n" + provider("a", fake.base_url()));
  // Two requests the fake provider holds for 3 s each, sent together: one is admitted and holds
  // the key's only slot, the other is refused.
  std::string slow = R"({"model":"fake-model","max_tokens":3,"fake":{"latency_ms":3000},"messages":[{"role":"user","content":"hi"}]})";
  auto one = std::async(std::launch::async, [&] { return post(gw, slow, "key-a"); });
  auto two = std::async(std::launch::async, [&] { return post(gw, slow, "key-a"); });
  auto a = one.get(), b = two.get();
  EXPECT_EQ(std::min(a.status, b.status), 200) << a.body << b.body;
  const auto& refused = a.status == 429 ? a : b;
  EXPECT_EQ(refused.status, 429) << a.body << b.body;
  EXPECT_NE(refused.body.find("concurrent limit (1)"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.header("retry-after"), "1");
  EXPECT_EQ(post(gw, kChat, "key-a").status, 200);  // given back when it ended
}

// Tokens per minute reserve the estimate (body bytes / 4 + max_tokens: about 27 here) and keep
// only the real count (about 6) once the answer is in: eight requests fit in 100 tokens, which
// three estimates alone would fill.
TEST(GovernanceLimits, TokensPerMinuteCountTheRealUsageOnceKnown) {
  auto fake = start_fake();
  auto gw = start_gateway("api_keys:\n  - { key: key-a, tpm: 100 }\nproviders:\n" + provider("a", fake.base_url()));
  for (int i = 0; i < 8; ++i) ASSERT_EQ(post(gw, kChat, "key-a").status, 200) << "request " << i;
  std::string large = R"({"model":"fake-model","max_tokens":200,"messages":[{"role":"user","content":"hi"}]})";
  auto refused = post(gw, large, "key-a");
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_NE(refused.body.find("over its tpm limit (100)"), std::string::npos) << refused.body;
}

// The budget has room for exactly ten worst-case reservations ($0.003 each); every answer costs
// its reservation. However the 100 requests interleave, ten are answered and 90 refused: the
// reservation is taken atomically before the call, so none can spend past the cap.
TEST(GovernanceLimits, HundredSimultaneousRequestsCannotOvershootAKeyBudget) {
  auto fake = start_fake();
  auto gw = start_gateway("api_keys:\n  - { name: team-a, key: key-a, budget: { daily: 0.03 } }\nproviders:\n" +
                          provider("a", fake.base_url()));
  std::vector<std::future<HttpResponse>> answers;
  std::atomic<bool> go{false};
  for (int i = 0; i < 100; ++i)
    answers.push_back(std::async(std::launch::async, [&] {
      while (!go.load()) std::this_thread::yield();
      return post(gw, kChat, "key-a");
    }));
  go = true;
  int answered = 0, refused = 0;
  int64_t spent_nano = 0;
  for (auto& f : answers) {
    auto r = f.get();
    if (r.status == 200) {
      ++answered;
      std::string usd = r.header("x-llmux-cost-usd");
      ASSERT_FALSE(usd.empty());
      spent_nano += static_cast<int64_t>(std::llround(std::stod(usd) * 1e9));
    } else {
      ++refused;
      EXPECT_EQ(r.status, 402) << r.body;
      EXPECT_EQ(error_code(r), "budget_exceeded") << r.body;
      EXPECT_NE(r.body.find("resets at "), std::string::npos) << r.body;
      EXPECT_FALSE(r.header("x-llmux-budget-reset").empty());
    }
  }
  // The documented bound: spend <= cap + one request's worst case ($0.003); here it is exact.
  EXPECT_LE(spent_nano, 30'000'000 + 3'000'000);
  EXPECT_EQ(answered, 10);
  EXPECT_EQ(refused, 90);
}

TEST(GovernanceLimits, AProviderOverBudgetIsSkippedAndALoneOneAnswers402) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider("a", fake.base_url(), "    budget: { daily: 0.003 }\n") +
                          provider("b", fake.base_url()) + two_deployments());
  auto first = post(gw, kChain);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-llmux-provider"), "a");
  auto second = post(gw, kChain);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.header("x-llmux-provider"), "b");
  EXPECT_EQ(second.header("x-llmux-attempts"), "1; a/fake-model=budget,b/fake-model=200");
  auto alone = post(gw, kChat);  // fake-model alone: provider a first, spent; b still serves it
  EXPECT_EQ(alone.status, 200);

  auto only = start_gateway("providers:\n" + provider("a", fake.base_url(), "    budget: { daily: 0.003 }\n"));
  ASSERT_EQ(post(only, kChat).status, 200);
  auto refused = post(only, kChat);
  EXPECT_EQ(refused.status, 402) << refused.body;
  EXPECT_EQ(error_code(refused), "budget_exceeded");
  EXPECT_FALSE(refused.header("retry-after").empty());
  // Spend against the cap, and the refusal, as Prometheus sees them.
  auto scrape = http_get(only.url("/metrics")).body;
  EXPECT_NE(scrape.find("llmux_budget_spent_usd{scope=\"provider\",name=\"a\",period=\"daily\"} 0.003"), std::string::npos)
      << scrape;
  EXPECT_NE(scrape.find("llmux_budget_cap_usd{scope=\"provider\",name=\"a\",period=\"daily\"} 0.003"), std::string::npos)
      << scrape;
  EXPECT_NE(scrape.find("llmux_rate_limit_rejections_total{scope=\"provider\",name=\"a\"} 1"), std::string::npos) << scrape;
}

TEST(GovernanceLimits, SpendSurvivesARestartThroughTheLedger) {
  auto fake = start_fake();
  TempDir state;
  std::string config = "state_dir: " + state.path +
                       "\napi_keys:\n  - { key: key-a, budget: { daily: 0.006 } }\nproviders:\n" +
                       provider("a", fake.base_url());
  {
    auto gw = start_gateway(config);
    EXPECT_EQ(post(gw, kChat, "key-a").status, 200);
    gw.process.signal(SIGTERM);
    ASSERT_EQ(gw.process.wait(), 0);
  }
  auto gw = start_gateway(config);
  EXPECT_EQ(post(gw, kChat, "key-a").status, 200);
  auto refused = post(gw, kChat, "key-a");
  EXPECT_EQ(refused.status, 402) << refused.body;
  EXPECT_EQ(error_code(refused), "budget_exceeded");
}

// Half of a $0.006 budget is crossed by the first request: one alert, POSTed to alerts.webhook;
// the second request (over the threshold too) sends none.
TEST(GovernanceLimits, CrossingTheAlertThresholdPostsOneBudgetAlert) {
  auto fake = start_fake();
  WebhookListener hook;
  auto gw = start_gateway("alerts:\n  webhook: " + hook.url("/budget") +
                          "\nproviders:\n" +
                          provider("a", fake.base_url(), "    budget: { daily: 0.006, alertThreshold: 0.5 }\n"));
  // The webhook also hears health changes (the provider's first answers); budget alerts are picked out.
  auto next_budget_alert = [&](std::chrono::milliseconds deadline) -> std::optional<WebhookListener::Received> {
    auto until = Clock::now() + deadline;
    while (Clock::now() < until) {
      auto received = hook.next(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()));
      if (!received) return std::nullopt;
      if (received->body.find("\"type\":\"budget_alert\"") != std::string::npos) return received;
    }
    return std::nullopt;
  };
  ASSERT_EQ(post(gw, kChat).status, 200);
  auto alert = next_budget_alert(10s);
  ASSERT_TRUE(alert) << "no budget alert within the deadline";
  EXPECT_EQ(alert->head.rfind("POST /budget HTTP/1.1", 0), 0u) << alert->head;
  EXPECT_NE(alert->body.find("\"subject\":\"provider\",\"id\":\"a\",\"period\":\"daily\""), std::string::npos)
      << alert->body;
  EXPECT_NE(alert->body.find("\"spent_usd\":0.003"), std::string::npos) << alert->body;
  EXPECT_NE(alert->body.find("\"cap_usd\":0.006"), std::string::npos) << alert->body;
  ASSERT_EQ(post(gw, kChat).status, 200);
  EXPECT_FALSE(next_budget_alert(300ms)) << "a second alert in the same period";
}

}  // namespace
}  // namespace llmux::test
