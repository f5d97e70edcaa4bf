#include "admin/routes.hpp"

#include "admin/key_endpoints.hpp"
#include "admin/provider_reads.hpp"
#include "admin/provider_tests.hpp"
#include "admin/provider_writes.hpp"
#include "server/http_text.hpp"

namespace llmux::admin {

namespace {

using boost::beast::http::verb;

constexpr Route kRoutes[] = {
    // --- provider reads (H1) ---
    {verb::get, "/api/providers", list_providers},
    {verb::get, "/api/providers/models", all_models},
    // --- provider writes (H2: provider_writes.hpp) ---
    {verb::post, "/api/providers/register", register_provider},
    // --- provider tests (H3: provider_tests.hpp) ---
    {verb::post, "/api/providers/test", test_unsaved_provider},
    // --- one provider ---
    {verb::get, "/api/providers/{name}", get_provider},                 // H1
    {verb::put, "/api/providers/{name}", put_provider},                 // H2
    {verb::patch, "/api/providers/{name}", patch_provider},             // H2
    {verb::delete_, "/api/providers/{name}", delete_provider},          // H2
    {verb::get, "/api/providers/{name}/models", provider_models},       // H1
    {verb::post, "/api/providers/{name}/default", set_default_provider},  // H2
    {verb::post, "/api/providers/{name}/enable", enable_provider},        // H2
    {verb::post, "/api/providers/{name}/disable", disable_provider},      // H2
    {verb::post, "/api/providers/{name}/test", test_saved_provider},      // H3
    // --- virtual keys (H1) ---
    {verb::get, "/api/keys", list_keys},
    {verb::post, "/api/keys", create_key},
    {verb::get, "/api/keys/{id}", get_key},
    {verb::patch, "/api/keys/{id}", patch_key},
    {verb::delete_, "/api/keys/{id}", delete_key},
};

// Matches `path` against `pattern` segment by segment; a capture takes one non-empty segment.
bool matches(std::string_view pattern, std::string_view path, std::vector<std::string>* params) {
  while (!pattern.empty() && !path.empty()) {
    if (pattern.front() != '/' || path.front() != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    size_t pe = pattern.find('/'), se = path.find('/');
    std::string_view want = pattern.substr(0, pe), got = path.substr(0, se);
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (got.empty()) return false;
      if (params) params->push_back(server::percent_decode(got));
    } else if (want != got) {
      return false;
    }
    pattern = pe == std::string_view::npos ? std::string_view() : pattern.substr(pe);
    path = se == std::string_view::npos ? std::string_view() : path.substr(se);
  }
  return pattern.empty() && path.empty();
}

const char* method_name(verb method) {
  switch (method) {
    case verb::get: return "GET";
    case verb::post: return "POST";
    case verb::put: return "PUT";
    case verb::patch: return "PATCH";
    case verb::delete_: return "DELETE";
    default: return "?";
  }
}

}  // namespace

std::span<const Route> routes() { return kRoutes; }

RouteMatch match_route(verb method, std::string_view path) {
  if (method == verb::head) method = verb::get;
  RouteMatch match;
  for (const auto& route : kRoutes) {
    if (!matches(route.pattern, path, nullptr)) continue;
    if (route.method == method) {
      matches(route.pattern, path, &match.params);
      match.endpoint = route.endpoint;
      match.allowed.clear();
      return match;
    }
    if (match.allowed.find(method_name(route.method)) == std::string::npos)
      match.allowed += (match.allowed.empty() ? "" : ", ") + std::string(method_name(route.method));
  }
  return match;
}

}  // namespace llmux::admin
