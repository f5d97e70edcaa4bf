#include "observability/provider_debug.hpp"
#include "observability/redact.hpp"

#include <gtest/gtest.h>

namespace llmux::observability {
namespace {

constexpr std::string_view kKey = "sk-live-4f9a1c77e2d0b3aa";

std::unique_ptr<providers::Provider> provider_with_key() {
  ProviderConfig c;
  c.id = "custom-lab";
  c.base_url = "http://127.0.0.1:9/v1";
  c.api_key = Secret(std::string(kKey));
  c.headers.push_back({"X-Team", "team-{api_key}"});           // holds the key under a harmless name
  c.headers.push_back({"X-Org-Token", "org-token-77aa91"});    // a secret by its name
  return std::move(providers::make_provider(c).value());
}

TEST(Redactor, HidesCredentialHeadersByNameAndKeysInAnyHeaderValue) {
  auto p = provider_with_key();
  Redactor r(*p);
  EXPECT_EQ(r.header_line("Authorization: Bearer sk-live-4f9a1c77e2d0b3aa"), "Authorization: " + std::string(kRedacted));
  EXPECT_EQ(r.header_line("x-api-key: whatever"), "x-api-key: " + std::string(kRedacted));
  EXPECT_EQ(r.header_line("X-Org-Token: org-token-77aa91"), "X-Org-Token: " + std::string(kRedacted));
  EXPECT_EQ(r.header_line("X-Session-Id: abc"), "X-Session-Id: " + std::string(kRedacted));
  std::string team = r.header_line("X-Team: team-sk-live-4f9a1c77e2d0b3aa");
  EXPECT_EQ(team.find(kKey), std::string::npos) << team;
  EXPECT_NE(team.find(kRedacted), std::string::npos) << team;
  EXPECT_EQ(r.header_line("Content-Type: application/json"), "Content-Type: application/json");
}

TEST(Redactor, HidesKeysInUrlQueriesPathsAndUserinfo) {
  auto p = provider_with_key();
  Redactor r(*p);
  const std::string red(kRedacted);
  EXPECT_EQ(r.url("https://h.example/v1/models?key=abc123&alt=sse"), "https://h.example/v1/models?key=" + red + "&alt=sse");
  EXPECT_EQ(r.url("https://h.example/v1?api-key=abc&api_key=def&access_token=ghi&sig=jkl"),
            "https://h.example/v1?api-key=" + red + "&api_key=" + red + "&access_token=" + red + "&sig=" + red);
  EXPECT_EQ(r.url("https://user:pass@h.example/v1"), "https://" + red + "@h.example/v1");
  std::string path = r.url("http://127.0.0.1:9/openai/deployments/sk-live-4f9a1c77e2d0b3aa/chat/completions");
  EXPECT_EQ(path.find(kKey), std::string::npos) << path;
  // The key's value under a harmless parameter name goes too.
  std::string query = r.url("http://127.0.0.1:9/v1?q=sk-live-4f9a1c77e2d0b3aa");
  EXPECT_EQ(query, "http://127.0.0.1:9/v1?q=" + red);
  EXPECT_EQ(r.url("http://127.0.0.1:9/v1/chat/completions"), "http://127.0.0.1:9/v1/chat/completions");
}

TEST(Redactor, HidesKeysEchoedInBodies) {
  auto p = provider_with_key();
  Redactor r(*p);
  std::string body = r.text(R"({"error":{"message":"Incorrect API key provided: sk-live-4f9a1c77e2d0b3aa"}})");
  EXPECT_EQ(body.find(kKey), std::string::npos);
  EXPECT_NE(body.find(kRedacted), std::string::npos);
}

TEST(CredentialNames, CoverTheUsualSpellings) {
  for (std::string_view name : {"Authorization", "Proxy-Authorization", "x-api-key", "api-key", "X-Goog-Api-Key", "key",
                                "token", "X-Auth-Token", "client_secret", "password", "Cookie"})
    EXPECT_TRUE(is_credential_name(name)) << name;
  for (std::string_view name : {"Content-Type", "Accept", "alt", "model", "X-Team", "User-Agent"})
    EXPECT_FALSE(is_credential_name(name)) << name;
}

TEST(ProviderDebugSpec, SelectsByNameGlobAndList) {
  EXPECT_TRUE(debug_spec_selects("provider:*", "anything"));
  EXPECT_TRUE(debug_spec_selects("provider:custom-lab", "custom-lab"));
  EXPECT_FALSE(debug_spec_selects("provider:custom-lab", "custom-lab2"));
  EXPECT_TRUE(debug_spec_selects("provider:custom*", "custom-lab"));
  EXPECT_FALSE(debug_spec_selects("provider:custom*", "openai"));
  EXPECT_TRUE(debug_spec_selects("router, provider:open*", "openai"));
  EXPECT_TRUE(debug_spec_selects("provider:a,provider:*-lab", "custom-lab"));
  EXPECT_FALSE(debug_spec_selects("provider:", "openai"));
  EXPECT_FALSE(debug_spec_selects("*", "openai"));  // other namespaces (DEBUG=*) are not provider debug
  EXPECT_TRUE(glob_matches("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(glob_matches("a*b*c", "aXXbYY"));
}

}  // namespace
}  // namespace llmux::observability
