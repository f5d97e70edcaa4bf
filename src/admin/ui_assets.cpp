#include "admin/ui_assets.hpp"

#include <boost/json.hpp>

#include "admin/ui_sessions.hpp"
#include "core/text.hpp"
#include "llmux/secret.hpp"
#include "storage/usage_query.hpp"

namespace llmux::admin {

namespace bhttp = boost::beast::http;

namespace {

// Scripts and styles only from /ui itself (no inline script, no eval), data only from this
// origin, no framing: a stored provider name cannot turn into script, and no page can wrap this one.
constexpr std::string_view kSecurityHeaders =
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: same-origin\r\n"
    "X-Frame-Options: DENY\r\n";
constexpr std::string_view kHtml = "text/html; charset=utf-8";
constexpr std::string_view kLoginMessageMark = "<!--login-message-->";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (trim(if_none_match) == "*") return true;
  while (!if_none_match.empty()) {
    size_t comma = if_none_match.find(',');
    std::string_view candidate = trim(if_none_match.substr(0, comma));
    if (candidate.starts_with("W/")) candidate.remove_prefix(2);
    if (candidate == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

UiAnswer page(int status, std::string_view body) {
  UiAnswer answer;
  answer.status = status;
  answer.content_type = kHtml;
  answer.body = body;
  answer.headers.assign(kSecurityHeaders);
  answer.headers += "Cache-Control: no-store\r\n";
  return answer;
}

UiAnswer missing_asset(std::string_view name) {
  UiAnswer answer = page(500, {});
  answer.content_type = "text/plain; charset=utf-8";
  answer.owned_body = "the dashboard was built without " + std::string(name);
  answer.body = answer.owned_body;
  return answer;
}

// The login page, with a message where the page marks its place (an escaped, fixed text).
UiAnswer login_page(int status, std::string_view message) {
  const EmbeddedFile* file = find_ui_file("login.html");
  if (!file) return missing_asset("login.html");
  UiAnswer answer = page(status, {});
  answer.owned_body.assign(file->bytes);
  if (!message.empty()) {
    if (size_t at = answer.owned_body.find(kLoginMessageMark); at != std::string::npos) {
      std::string note = "<p class=\"notice error\" role=\"alert\" id=\"login-message\">";
      note += message;
      note += "</p>";
      answer.owned_body.replace(at, kLoginMessageMark.size(), note);
    }
  }
  answer.body = answer.owned_body;
  return answer;
}

UiAnswer redirect(std::string_view location) {
  UiAnswer answer = page(303, {});
  answer.headers += "Location: ";
  answer.headers += location;
  answer.headers += "\r\n";
  return answer;
}

UiAnswer static_file(const UiRequest& request, const EmbeddedFile& file) {
  UiAnswer answer;
  answer.content_type = ui_content_type(file.name);
  answer.headers.assign(kSecurityHeaders);
  // The names carry no version, so a browser asks again each time and gets a 304 while unchanged.
  answer.headers += "Cache-Control: no-cache\r\nETag: ";
  answer.headers += file.etag;
  answer.headers += "\r\n";
  if (etag_matches(request.if_none_match, file.etag)) {
    answer.status = 304;
    return answer;
  }
  answer.body = file.bytes;
  return answer;
}

// The admin key from the login form (key=…, form-encoded) or a JSON body {"key": "…"}.
std::string submitted_key(const UiRequest& request) {
  if (istarts_with(request.content_type, "application/json")) {
    boost::system::error_code ec;
    auto value = boost::json::parse(request.body, ec);
    if (ec || !value.is_object()) return {};
    const auto* key = value.as_object().if_contains("key");
    return key && key->is_string() ? std::string(key->as_string()) : std::string();
  }
  return storage::query_value(request.body, "key");
}

UiAnswer login(const UiRequest& request, const UiAccess& access, UiSessions& sessions) {
  // A login posted from another origin is a forged one (login CSRF): refused before the key is read.
  if (!request.origin.empty() && !same_origin(request.origin, request.host, request.tls))
    return login_page(403, "This login came from another site and was refused.");
  std::string key = submitted_key(request);
  bool matches = key.size() == access.admin_key.size() && !key.empty() &&
                 Secret(std::string(access.admin_key)).equals(key);
  if (!matches) return login_page(401, "That is not the admin key.");
  auto token = sessions.open(access.admin_key);
  if (!token) return login_page(503, "No session could be opened (no randomness); try again.");
  UiAnswer answer = redirect("/ui/");
  answer.headers += UiSessions::set_cookie_line(*token, request.tls);
  return answer;
}

}  // namespace

const EmbeddedFile* find_ui_file(std::string_view name) {
  for (const auto& file : embedded_ui_files())
    if (file.name == name) return &file;
  return nullptr;
}

std::string_view ui_content_type(std::string_view name) {
  if (name.ends_with(".html")) return kHtml;
  if (name.ends_with(".js") || name.ends_with(".mjs")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  if (name.ends_with(".png")) return "image/png";
  if (name.ends_with(".json")) return "application/json";
  return "application/octet-stream";
}

UiAnswer ui_answer(const UiRequest& request, const UiAccess& access, UiSessions& sessions) {
  std::string_view path = request.path;
  bool get = request.method == bhttp::verb::get || request.method == bhttp::verb::head;
  bool post = request.method == bhttp::verb::post;
  bool keyed = !access.admin_key.empty();
  if (!keyed && !access.open_without_key) {
    UiAnswer answer = login_page(403, "The dashboard is off: no admin key is set and the gateway does not listen on "
                                      "loopback only. Set admin_key in the config or LLMUX_ADMIN_KEY.");
    return answer;
  }

  if (path == "/ui/login") {
    if (post) return keyed ? login(request, access, sessions) : redirect("/ui/");
    if (!get) return page(405, "");
    if (!keyed || sessions.valid(request.cookie, access.admin_key)) return redirect("/ui/");
    return login_page(200, {});
  }
  if (path == "/ui/logout") {
    if (!post) return page(405, "");
    sessions.close(request.cookie);
    UiAnswer answer = redirect("/ui/login");
    answer.headers += UiSessions::clear_cookie_line(request.tls);
    return answer;
  }
  if (!get) return page(405, "");
  if (path == "/ui" || path == "/ui/" || path == "/ui/index.html") {
    if (keyed && !sessions.valid(request.cookie, access.admin_key)) return login_page(401, {});
    const EmbeddedFile* file = find_ui_file("index.html");
    if (!file) return missing_asset("index.html");
    UiAnswer answer = page(200, file->bytes);
    return answer;
  }
  // The scripts and styles hold no secret: the login page needs some of them before any session.
  std::string_view name = path.substr(std::string_view("/ui/").size());
  if (name != "login.html" && name != "index.html")
    if (const EmbeddedFile* file = find_ui_file(name)) return static_file(request, *file);
  UiAnswer answer = page(404, {});
  answer.content_type = "text/plain; charset=utf-8";
  answer.body = "no such dashboard file";
  return answer;
}

}  // namespace llmux::admin
