// The upstream guard (SSRF) through the real binaries: a metadata URL is refused before anything
// connects, admin.allow_private false refuses `localhost` on its resolved address at connect time
// (and allowed_upstreams opens it by name or CIDR), and an upstream's redirect is never followed.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "cli_harness.hpp"
#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

json::array fake_requests(const FakeProvider& fake) {
  return json::parse(http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests").body).as_array();
}

std::string chat_body() { return R"({"model":"fake-model","messages":[{"role":"user","content":"hi"}]})"; }

std::string localhost_config(const FakeProvider& fake, const std::string& admin) {
  return admin + "providers:\n  local:\n    base_url: http://localhost:" + std::to_string(fake.port) +
         "/v1\n    api_key: k\n    models: [fake-model]\n";
}

TEST(UpstreamGuard, AMetadataUrlIsRefusedByServeAndTheCli) {
  Process serve({LLMUX_BINARY, "serve", "--config",
                 temp_file("providers:\n  meta:\n    base_url: http://169.254.169.254/\n    models: [m]\n"), "--port", "0"},
                {}, true);
  EXPECT_NE(serve.wait(), 0);
  EXPECT_TRUE(contains(serve.output(), "upstream_not_allowed: 169.254.169.254 is link-local")) << serve.output();
  EXPECT_FALSE(contains(serve.output(), "listening on")) << serve.output();

  Sandbox box;
  for (const char* url : {"http://169.254.169.254/", "http://[::ffff:169.254.169.254]/v1", "http://metadata.google.internal/v1",
                          "http://2852039166/v1", "http://0x7f.1/v1", "http://user:pw@example.com/v1"}) {
    auto added = box.run({"provider", "add", "bad", url, "--model", "m"});
    EXPECT_NE(added.exit, 0) << url << "\n" << added.all();
  }
  EXPECT_EQ(box.run({"provider", "list", "--json"}).out.find("\"bad\""), std::string::npos);
}

// The config names `localhost`, which passes validation; only its resolved address (127.0.0.1 or
// ::1) is private. Refused at connect time, so the fake never hears a thing, and the answer says so
// at once (no retry, no fallback, no "provider down").
TEST(UpstreamGuard, WithAllowPrivateFalseLocalhostIsRefusedOnItsResolvedAddress) {
  auto fake = start_fake();
  auto gateway = start_gateway(localhost_config(fake, "admin:\n  allow_private: false\n"));
  auto r = http_post(gateway.url("/v1/chat/completions"), chat_body());
  EXPECT_EQ(r.status, 502) << r.body;
  auto error = json::parse(r.body).at("error");
  EXPECT_EQ(error.at("code"), "upstream_not_allowed") << r.body;
  std::string message(error.at("message").as_string());
  EXPECT_TRUE(contains(message, "localhost (127.0.0.1)") || contains(message, "localhost (::1)")) << message;
  EXPECT_TRUE(contains(message, "admin.allow_private is false")) << message;
  EXPECT_EQ(fake_requests(fake).size(), 0u);
}

TEST(UpstreamGuard, AllowedUpstreamsOpenLocalhostByNameOrCidr) {
  auto fake = start_fake();
  for (const char* allowed : {"[localhost]", "[127.0.0.1/32]"}) {
    auto gateway = start_gateway(
        localhost_config(fake, std::string("admin:\n  allow_private: false\n  allowed_upstreams: ") + allowed + "\n"));
    auto r = http_post(gateway.url("/v1/chat/completions"), chat_body());
    EXPECT_EQ(r.status, 200) << allowed << ": " << r.body;
  }
  EXPECT_GE(fake_requests(fake).size(), 2u);
}

// A 302 to another address (a stand-in for a metadata URL) is not followed: the client gets the
// gateway's error and the redirect's target is never asked.
TEST(UpstreamGuard, AnUpstreamRedirectIsNeverFollowed) {
  auto target = start_fake();
  auto redirecting = start_fake({"--status-line", "302 Found", "--header",
                                 "Location: http://127.0.0.1:" + std::to_string(target.port) + "/v1/chat/completions"});
  auto gateway = start_gateway("providers:\n  redirecting:\n    base_url: " + redirecting.base_url() +
                               "\n    api_key: k\n    max_retries: 0\n    models: [fake-model]\n");
  auto r = http_post(gateway.url("/v1/chat/completions"), chat_body());
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_TRUE(contains(r.body, "redirects are not followed")) << r.body;
  EXPECT_GE(fake_requests(redirecting).size(), 1u);
  EXPECT_EQ(fake_requests(target).size(), 0u);
}

}  // namespace
}  // namespace llmux::test
