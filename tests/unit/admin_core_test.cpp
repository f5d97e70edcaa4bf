// The admin API's route table, its authentication and its audit log lines.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>

#include "admin/audit_log.hpp"
#include "admin/auth.hpp"
#include "admin/key_endpoints.hpp"
#include "admin/provider_reads.hpp"
#include "admin/provider_writes.hpp"
#include "admin/routes.hpp"

namespace llmux::admin {
namespace {

using boost::beast::http::verb;

TEST(AdminRoutes, LiteralPathsComeBeforeCapturesAndCapturesAreDecoded) {
  EXPECT_EQ(match_route(verb::get, "/api/providers/models").endpoint, &all_models);
  EXPECT_EQ(match_route(verb::post, "/api/providers/register").endpoint, &register_provider);
  auto one = match_route(verb::get, "/api/providers/my%20provider");
  EXPECT_EQ(one.endpoint, &get_provider);
  ASSERT_EQ(one.params.size(), 1u);
  EXPECT_EQ(one.params[0], "my provider");
  auto models = match_route(verb::head, "/api/providers/groq/models");  // HEAD is GET
  EXPECT_EQ(models.endpoint, &provider_models);
  EXPECT_EQ(models.params, std::vector<std::string>{"groq"});
  EXPECT_EQ(match_route(verb::delete_, "/api/keys/vk_1").endpoint, &delete_key);
}

TEST(AdminRoutes, AKnownPathWithAnotherMethodNamesTheAllowedOnes) {
  auto put_keys = match_route(verb::put, "/api/keys/vk_1");
  EXPECT_EQ(put_keys.endpoint, nullptr);
  EXPECT_EQ(put_keys.allowed, "GET, PATCH, DELETE");
  auto unknown = match_route(verb::get, "/api/nothing/here");
  EXPECT_EQ(unknown.endpoint, nullptr);
  EXPECT_TRUE(unknown.allowed.empty());
  EXPECT_EQ(match_route(verb::get, "/api/providers/").endpoint, nullptr) << "an empty capture matches nothing";
  EXPECT_EQ(match_route(verb::get, "/api/providers/a/b/c").endpoint, nullptr);
}

GatewayConfig with_key(std::string key, std::string host = "127.0.0.1") {
  GatewayConfig config;
  config.server.host = std::move(host);
  if (!key.empty()) config.admin_auth.key = Secret(std::move(key));
  return config;
}

TEST(AdminAuthCheck, TheThreeGates) {
  auto keyed = with_key("adm-0123456789-a1b2");
  EXPECT_EQ(check_admin(keyed, "Bearer adm-0123456789-a1b2").outcome, AdminCheck::Outcome::admitted);
  EXPECT_EQ(check_admin(keyed, "Bearer adm-0123456789-a1b2").admin_id, "admin-key …a1b2");
  EXPECT_EQ(check_admin(keyed, "bearer adm-0123456789-a1b2").outcome, AdminCheck::Outcome::admitted);
  auto missing = check_admin(keyed, "");
  EXPECT_EQ(missing.outcome, AdminCheck::Outcome::refused);
  EXPECT_EQ(missing.error.http_status, 401);
  EXPECT_EQ(missing.error.code, "missing_admin_key");
  auto wrong = check_admin(keyed, "Bearer adm-0123456789-a1b");  // a prefix of it
  EXPECT_EQ(wrong.error.code, "invalid_admin_key");
  EXPECT_EQ(wrong.error.message.find("adm-0123456789"), std::string::npos);

  EXPECT_EQ(check_admin(with_key(""), "").outcome, AdminCheck::Outcome::gateway_keys);
  EXPECT_EQ(check_admin(with_key("", "::1"), "").outcome, AdminCheck::Outcome::gateway_keys);
  auto off = check_admin(with_key("", "0.0.0.0"), "Bearer anything");
  EXPECT_EQ(off.outcome, AdminCheck::Outcome::refused);
  EXPECT_EQ(off.error.http_status, 403);
  EXPECT_EQ(off.error.code, "admin_disabled");
  EXPECT_EQ(check_admin(with_key("adm-0123456789-a1b2", "0.0.0.0"), "Bearer adm-0123456789-a1b2").outcome,
            AdminCheck::Outcome::admitted);
}

TEST(AdminAuthCheck, ComparisonAndIds) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "abcd"));
  EXPECT_FALSE(constant_time_equals("", "a"));
  EXPECT_EQ(admin_key_id("admin-key", "short-key"), "admin-key") << "a short key shows nothing of itself";
  EXPECT_EQ(admin_start_line(with_key("", "0.0.0.0")), "admin API: off (no admin key and not loopback)");
  EXPECT_EQ(admin_start_line(with_key("")), "admin API: no admin key set; listening on loopback only");
}

TEST(AdminAnswers, ValidationErrorsListEveryField) {
  Error e = Error::make(ErrorKind::invalid_request, "models[0].id: is required; baseUrl: not a URL", "models[0].id",
                        "invalid_provider_config");
  auto answer = error_answer(e, {{"models[0].id", "is required"}, {"baseUrl", "not a URL"}});
  EXPECT_EQ(answer.status, 400);
  auto body = boost::json::parse(answer.body);
  EXPECT_EQ(body.at("error").at("code"), "invalid_provider_config");
  EXPECT_EQ(body.at("error").at("errors").at(1).at("field"), "baseUrl");
  EXPECT_EQ(masked_secret(Secret("sk-abcdefgh1234")), "****1234");
  EXPECT_EQ(masked_secret(Secret("sk-1234")), "****");
  EXPECT_EQ(etag_of("a: 1\n"), etag_of("a: 1\n"));
  EXPECT_NE(etag_of("a: 1\n"), etag_of("a: 2\n"));
  EXPECT_EQ(etag_of("").size(), 18u);
}

TEST(AdminAuditLog, OneLinePerEntryInAPrivateFile) {
  char dir[] = "/tmp/llmux-audit-XXXXXX";
  ASSERT_TRUE(::mkdtemp(dir));
  std::string path = audit_log_path(dir);
  {
    AuditLog log(path);
    ASSERT_TRUE(log.append({"admin-key …a1b2", "provider.register", "groq", {"baseUrl", "apiKey"}}));
    ASSERT_TRUE(log.append({"loopback", "key.revoke", "vk_1", {}}));
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path);
  std::string first, second, none;
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_FALSE(std::getline(in, none));
  auto a = boost::json::parse(first);
  EXPECT_EQ(a.at("action"), "provider.register");
  EXPECT_EQ(a.at("fields"), boost::json::parse(R"(["baseUrl","apiKey"])"));
  EXPECT_TRUE(a.at("time").as_string().ends_with("Z"));
  EXPECT_EQ(boost::json::parse(second).at("admin"), "loopback");
  EXPECT_EQ(AuditLog::line({"x", "y", "z", {}}, 0),
            R"({"time":"1970-01-01T00:00:00.000Z","admin":"x","action":"y","provider":"z","fields":[]})");
  ::unlink(path.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace llmux::admin
