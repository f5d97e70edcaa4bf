// A config reload under sustained load loses no request: clients keep sending plain and streamed
// requests while the config file is rewritten and SIGHUP sent, again and again (a provider added
// and removed, a chain's order reversed). Every request on the model that always exists gets a
// complete 200 (a whole answer, or a stream ending in [DONE] with the whole text); one on the
// model that comes and goes gets a complete 200 or the documented 404 model_not_found. Requests
// already running when a reload lands finish on the config they started with.
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
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

constexpr const char* kText = "every word of this answer arrives";

std::string provider(const std::string& id, const FakeProvider& fake) {
  return "  " + id + ":\n    base_url: " + fake.base_url() + "\n    models: [fake-model]\n";
}

// `order` names the chain's deployments in priority order; `with_extra` adds provider c and the
// model "extra" it serves.
std::string config(const std::vector<const FakeProvider*>& fakes, const std::vector<std::string>& order,
                   bool with_extra) {
  std::string y = "providers:\n" + provider("a", *fakes[0]) + provider("b", *fakes[1]);
  if (with_extra) y += provider("c", *fakes[2]);
  y += "models:\n  steady:\n    deployments:\n";
  for (size_t i = 0; i < order.size(); ++i)
    y += "      - {provider: " + order[i] + ", model: fake-model, priority: " + std::to_string(i + 1) + "}\n";
  if (with_extra) y += "  extra:\n    deployments:\n      - {provider: c, model: fake-model, priority: 1}\n";
  return y;
}

// Written beside the file and renamed over it, so the watcher never reads half a config.
void replace_file(const std::string& path, const std::string& contents) {
  std::string tmp = path + ".next";
  std::ofstream(tmp) << contents;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

std::string body(const std::string& model, bool stream) {
  // A paced stream (10 events, 8 ms apart) is in flight long enough for reloads to land mid-stream.
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}])" +
         (stream ? R"(,"stream":true,"fake":{"chunks":10,"chunk_interval_ms":8}})" : "}");
}

std::string check_complete(const HttpResponse& r, bool stream);

// What is wrong with an answer that should be complete; "" when nothing is. Never throws: it runs
// on the client threads.
std::string incomplete(const HttpResponse& r, bool stream) {
  try {
    return check_complete(r, stream);
  } catch (const std::exception& e) {
    return std::string("unexpected shape (") + e.what() + "): " + r.body;
  }
}

std::string check_complete(const HttpResponse& r, bool stream) {
  if (r.status != 200) return "status " + std::to_string(r.status) + " " + r.error + " " + r.body;
  json::error_code ec;
  if (!stream) {
    auto v = json::parse(r.body, ec);
    if (ec) return "invalid JSON: " + r.body;
    auto* content = v.at("choices").at(0).at("message").as_object().if_contains("content");
    return content && content->is_string() && content->as_string() == kText ? "" : "wrong answer: " + r.body;
  }
  auto events = sse_data(r.body);
  if (events.empty() || events.back() != "[DONE]") return "stream without [DONE]: " + r.body;
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    auto v = json::parse(events[i], ec);
    if (ec || v.as_object().contains("error")) return "bad event: " + events[i];
    auto& choices = v.at("choices").as_array();
    if (choices.empty()) continue;
    if (auto* c = choices[0].at("delta").as_object().if_contains("content"); c && c->is_string()) text += c->as_string();
  }
  return text == kText ? "" : "truncated stream text '" + text + "'";
}

bool removed_model_answer(const HttpResponse& r) {
  if (r.status != 404) return false;
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return false;
  auto* error = v.as_object().if_contains("error");
  auto* code = error && error->is_object() ? error->as_object().if_contains("code") : nullptr;
  return code && code->is_string() && code->as_string() == "model_not_found";
}

TEST(ReloadUnderLoad, NoRequestIsLostOrTruncated) {
  auto fa = start_fake({"--content", kText});
  auto fb = start_fake({"--content", kText});
  auto fc = start_fake({"--content", kText});
  std::vector<const FakeProvider*> fakes{&fa, &fb, &fc};
  auto gw = start_gateway(config(fakes, {"a", "b"}, false));

  std::atomic<bool> stop{false};
  std::atomic<long> done{0}, steady_ok{0}, extra_ok{0}, extra_removed{0}, streams{0};
  std::atomic<long> by_a{0}, by_b{0};  // steady requests each end of the chain answered
  std::atomic<int> reloads_seen{0};
  std::atomic<long> spanning{0};  // streams that were running when a reload was applied
  std::mutex mu;
  std::vector<std::string> failures;
  auto client = [&](int id) {
    for (long n = 0; !stop.load(); ++n) {
      bool stream = (n + id) % 2 == 0;
      bool extra = (n + id) % 3 == 0;
      int generation = reloads_seen.load();
      auto r = http_post(gw.url("/v1/chat/completions"), body(extra ? "extra" : "steady", stream));
      if (stream && reloads_seen.load() != generation) ++spanning;
      if (!extra) ++(r.header("x-llmux-provider") == "a" ? by_a : by_b);
      std::string problem;
      if (extra && removed_model_answer(r)) {
        ++extra_removed;
      } else {
        problem = incomplete(r, stream);
        if (problem.empty()) ++(extra ? extra_ok : steady_ok);
      }
      if (stream) ++streams;
      if (!problem.empty()) {
        std::lock_guard lock(mu);
        failures.push_back(std::string(extra ? "extra" : "steady") + (stream ? " stream: " : " plain: ") + problem);
      }
      ++done;
    }
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) clients.emplace_back(client, i);

  // Waits for the load to make progress: reloads land while requests are in flight, and each
  // config serves a while before the next one.
  auto after_requests = [&](long n) {
    long target = done.load() + n;
    auto until = Clock::now() + std::chrono::seconds(20);
    while (done.load() < target && Clock::now() < until) ::poll(nullptr, 0, 5);
    ASSERT_GE(done.load(), target) << "the load stalled";
  };
  const std::vector<std::pair<std::vector<std::string>, bool>> configs = {
      {{"b", "a"}, true}, {{"a", "b"}, false}, {{"b", "a"}, false},
      {{"a", "b"}, true}, {{"b", "a"}, true},  {{"a", "b"}, false}, {{"b", "a"}, true},
      {{"a", "b"}, false}, {{"b", "a"}, false}, {{"a", "b"}, true}, {{"b", "a"}, false},
  };
  after_requests(20);
  int reloads = 0;
  for (auto& [order, with_extra] : configs) {
    replace_file(gw.config_path, config(fakes, order, with_extra));
    gw.process.signal(SIGHUP);
    auto line = gw.process.wait_for_line("reloaded:");
    ASSERT_FALSE(line.empty()) << "no reload: " << gw.process.output();
    ++reloads;
    ++reloads_seen;
    after_requests(20);
  }
  stop = true;
  for (auto& t : clients) t.join();

  for (auto& f : failures) ADD_FAILURE() << f;
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << done.load() << " requests failed";
  EXPECT_EQ(reloads, int(configs.size()));
  EXPECT_GE(done.load(), long(20 * (configs.size() + 1)));
  EXPECT_GT(streams.load(), 0);
  EXPECT_GT(spanning.load(), 0) << "no stream was running while a reload was applied";
  EXPECT_GT(by_a.load(), 0) << "the chain's order changes never took effect";
  EXPECT_GT(by_b.load(), 0) << "the chain's order changes never took effect";
  EXPECT_GT(extra_ok.load(), 0) << "the added model was never served";
  EXPECT_GT(extra_removed.load(), 0) << "the removed model was never asked for while it was gone";
  RecordProperty("requests", std::to_string(done.load()));
  std::printf("reload under load: %ld requests (%ld streams, %ld of them across a reload), %d reloads, "
              "steady ok %ld (a %ld, b %ld), extra ok %ld, extra 404 %ld\n",
              done.load(), streams.load(), spanning.load(), reloads, steady_ok.load(), by_a.load(), by_b.load(),
              extra_ok.load(), extra_removed.load());
}

}  // namespace
}  // namespace llmux::test
