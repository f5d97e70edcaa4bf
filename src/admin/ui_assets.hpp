// The dashboard at /ui: its files, embedded in the binary at build time (cmake/embed_ui.cmake
// turns src/admin/ui/ into a generated source), and the answers to /ui, /ui/ and /ui/*: the login
// page, POST /ui/login and /ui/logout, the dashboard page for a logged-in admin, and the static
// files with Content-Type, Cache-Control, ETag and a Content-Security-Policy that allows no inline
// script. Runs on the worker's thread: everything it does is a lookup in memory.
#pragma once

#include <ostream>  // verb.hpp prints verbs but does not include it

#include <boost/beast/http/verb.hpp>

#include <span>
#include <string>
#include <string_view>

namespace llmux::admin {

class UiSessions;

struct EmbeddedFile {
  std::string_view name;   // relative to src/admin/ui/, e.g. "app.js"
  std::string_view bytes;
  std::string_view etag;   // quoted, as sent: "\"3f2a…\""
};

// Every embedded file (generated source).
std::span<const EmbeddedFile> embedded_ui_files();
const EmbeddedFile* find_ui_file(std::string_view name);
std::string_view ui_content_type(std::string_view name);

struct UiRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string_view path;  // without the query; starts with "/ui"
  std::string_view cookie;
  std::string_view if_none_match;
  std::string_view origin;
  std::string_view host;
  std::string_view content_type;
  std::string_view body;
  bool tls = false;  // the client connection is HTTPS: the cookie gets Secure
};

// Who may use the dashboard: with an admin key, whoever logs in with it; without one, everyone
// when the gateway listens on loopback only (open), nobody otherwise (disabled).
struct UiAccess {
  std::string_view admin_key;  // "" when none is set
  bool open_without_key = false;
};

struct UiAnswer {
  int status = 200;
  std::string_view content_type;
  std::string_view body;    // an embedded file's bytes, or owned_body
  std::string owned_body;   // a page made for this answer (the login page with its message)
  std::string headers;      // extra header lines, each ending in "\r\n"
};

UiAnswer ui_answer(const UiRequest& request, const UiAccess& access, UiSessions& sessions);

}  // namespace llmux::admin
