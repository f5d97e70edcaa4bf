// The dashboard's sessions and its answers to /ui (src/admin/ui_sessions.*, ui_assets.*).
#include <gtest/gtest.h>

#include "admin/ui_assets.hpp"
#include "admin/ui_sessions.hpp"

namespace llmux::admin {
namespace {

namespace bhttp = boost::beast::http;
constexpr std::string_view kKey = "admin-key-for-tests-1234";

std::string cookie_of(std::string_view token) { return "theme=dark; llmux_session=" + std::string(token) + "; x=1"; }

TEST(UiSessions, ATokenOpensOnlyWithTheKeyThatMadeIt) {
  UiSessions sessions;
  auto token = sessions.open(kKey);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->size(), 64u);
  std::string admin_id;
  EXPECT_TRUE(sessions.valid(cookie_of(*token), kKey, &admin_id));
  EXPECT_EQ(admin_id, "session …1234");
  EXPECT_FALSE(sessions.valid(cookie_of(*token), "another-admin-key")) << "a changed admin key ends the session";
  EXPECT_FALSE(sessions.valid(cookie_of(std::string(64, 'a')), kKey));
  EXPECT_FALSE(sessions.valid("llmux_session=", kKey));
  EXPECT_FALSE(sessions.valid("", kKey));
  EXPECT_FALSE(sessions.valid(cookie_of(*token), "")) << "no admin key: no session opens anything";
}

TEST(UiSessions, TokensAreRandomAndExpireAfterTwelveHours) {
  UiSessions sessions;
  auto start = UiSessions::Clock::now();
  auto first = sessions.open(kKey, start);
  auto second = sessions.open(kKey, start);
  ASSERT_TRUE(first && second);
  EXPECT_NE(*first, *second);
  EXPECT_TRUE(sessions.valid(cookie_of(*first), kKey, nullptr, start + std::chrono::hours(12) - std::chrono::seconds(1)));
  EXPECT_FALSE(sessions.valid(cookie_of(*first), kKey, nullptr, start + std::chrono::hours(12)));
}

TEST(UiSessions, LogoutEndsTheSessionAndTheOldestGoesWhenFull) {
  UiSessions sessions;
  auto token = sessions.open(kKey);
  ASSERT_TRUE(token);
  sessions.close(cookie_of(*token));
  EXPECT_FALSE(sessions.valid(cookie_of(*token), kKey));

  auto oldest = sessions.open(kKey);
  for (size_t i = 0; i < UiSessions::kMaxSessions; ++i) ASSERT_TRUE(sessions.open(kKey));
  EXPECT_EQ(sessions.size(), UiSessions::kMaxSessions);
  EXPECT_FALSE(sessions.valid(cookie_of(*oldest), kKey));
}

TEST(UiSessions, CookieLinesAreHttpOnlyStrictAndSecureOverHttps) {
  auto line = UiSessions::set_cookie_line("abc", false);
  EXPECT_EQ(line, "Set-Cookie: llmux_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200\r\n");
  EXPECT_NE(UiSessions::set_cookie_line("abc", true).find("; Secure\r\n"), std::string::npos);
  EXPECT_NE(UiSessions::clear_cookie_line(false).find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(UiSessions::cookie_value("a=1;llmux_session=xyz", "llmux_session"), "xyz");
  EXPECT_EQ(UiSessions::cookie_value("not_llmux_session=xyz", "llmux_session"), "");
}

UiRequest get(std::string_view path, std::string_view cookie = {}) {
  UiRequest r;
  r.path = path;
  r.cookie = cookie;
  r.host = "127.0.0.1:4000";
  return r;
}

UiRequest login_post(std::string_view body, std::string_view origin = "http://127.0.0.1:4000") {
  UiRequest r = get("/ui/login");
  r.method = bhttp::verb::post;
  r.content_type = "application/x-www-form-urlencoded";
  r.body = body;
  r.origin = origin;
  return r;
}

std::string header_value(const UiAnswer& answer, std::string_view name) {
  size_t at = answer.headers.find(std::string(name) + ": ");
  if (at == std::string::npos) return {};
  at += name.size() + 2;
  return answer.headers.substr(at, answer.headers.find("\r\n", at) - at);
}

TEST(UiAnswer, WithoutASessionTheDashboardIsTheLoginPageWith401) {
  UiSessions sessions;
  UiAccess access{kKey, false};
  for (auto path : {"/ui", "/ui/", "/ui/index.html"}) {
    auto answer = ui_answer(get(path), access, sessions);
    EXPECT_EQ(answer.status, 401) << path;
    EXPECT_NE(answer.body.find("action=\"/ui/login\""), std::string_view::npos) << path;
    EXPECT_EQ(header_value(answer, "Cache-Control"), "no-store");
    auto csp = header_value(answer, "Content-Security-Policy");
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  }
}

TEST(UiAnswer, TheAdminKeyLogsInAndTheCookieOpensTheDashboard) {
  UiSessions sessions;
  UiAccess access{kKey, false};
  auto wrong = ui_answer(login_post("key=wrong"), access, sessions);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find("not the admin key"), std::string_view::npos);
  EXPECT_EQ(header_value(wrong, "Set-Cookie"), "");

  auto forged = ui_answer(login_post("key=" + std::string(kKey), "http://evil.example"), access, sessions);
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(header_value(forged, "Set-Cookie"), "");
  EXPECT_EQ(sessions.size(), 0u);

  auto ok = ui_answer(login_post("key=" + std::string(kKey)), access, sessions);
  EXPECT_EQ(ok.status, 303);
  EXPECT_EQ(header_value(ok, "Location"), "/ui/");
  auto cookie = header_value(ok, "Set-Cookie");
  ASSERT_TRUE(cookie.starts_with("llmux_session="));
  std::string session_cookie = "llmux_session=" + cookie.substr(14, 64);
  auto page = ui_answer(get("/ui/", session_cookie), access, sessions);
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("src=\"/ui/app.js\""), std::string_view::npos);

  UiRequest logout = get("/ui/logout", session_cookie);
  logout.method = bhttp::verb::post;
  auto out = ui_answer(logout, access, sessions);
  EXPECT_EQ(out.status, 303);
  EXPECT_NE(header_value(out, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(ui_answer(get("/ui/", session_cookie), access, sessions).status, 401);
}

TEST(UiAnswer, FilesCarryTheirTypeAndETagAndAnswer304WhenUnchanged) {
  UiSessions sessions;
  UiAccess access{kKey, false};
  auto js = ui_answer(get("/ui/app.js"), access, sessions);
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header_value(js, "Cache-Control"), "no-cache");
  auto etag = header_value(js, "ETag");
  ASSERT_FALSE(etag.empty());
  UiRequest again = get("/ui/app.js");
  again.if_none_match = etag;
  auto unchanged = ui_answer(again, access, sessions);
  EXPECT_EQ(unchanged.status, 304);
  EXPECT_TRUE(unchanged.body.empty());
  EXPECT_EQ(ui_answer(get("/ui/style.css"), access, sessions).content_type, "text/css; charset=utf-8");
  EXPECT_EQ(ui_answer(get("/ui/missing.js"), access, sessions).status, 404);
  EXPECT_EQ(ui_answer(get("/ui/../CMakeLists.txt"), access, sessions).status, 404);
}

TEST(UiAnswer, WithoutAnAdminKeyTheDashboardIsOpenOnLoopbackAndOffElsewhere) {
  UiSessions sessions;
  EXPECT_EQ(ui_answer(get("/ui/"), UiAccess{"", true}, sessions).status, 200);
  auto off = ui_answer(get("/ui/"), UiAccess{"", false}, sessions);
  EXPECT_EQ(off.status, 403);
  EXPECT_NE(off.body.find("LLMUX_ADMIN_KEY"), std::string_view::npos);
}

TEST(UiAnswer, SameOriginComparesSchemeHostAndPort) {
  EXPECT_TRUE(same_origin("http://127.0.0.1:4000", "127.0.0.1:4000", false));
  EXPECT_FALSE(same_origin("http://127.0.0.1:4001", "127.0.0.1:4000", false));
  EXPECT_FALSE(same_origin("https://127.0.0.1:4000", "127.0.0.1:4000", false));
  EXPECT_TRUE(same_origin("https://gw.example", "gw.example", true));
  EXPECT_FALSE(same_origin("null", "127.0.0.1:4000", false));
  EXPECT_FALSE(same_origin("http://127.0.0.1:4000", "", false));
}

}  // namespace
}  // namespace llmux::admin
