// The admin API's route table: {method, pattern, endpoint}, patterns with {captures} standing for
// one path segment each. The first matching row wins, so literal paths come before captures.
// The cheap reads that answer on the worker thread (GET /api/usage, /api/providers/health,
// /api/providers/{name}/metrics) are not here: the GatewayHandler answers them itself.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/verb.hpp>

#include "admin/admin_api.hpp"

namespace llmux::admin {

struct Route {
  boost::beast::http::verb method;
  std::string_view pattern;  // "/api/providers/{name}/models"
  AdminEndpoint endpoint;
};

std::span<const Route> routes();

struct RouteMatch {
  AdminEndpoint endpoint = nullptr;  // null: no row for this method and path
  std::vector<std::string> params;   // the captures, percent-decoded
  std::string allowed;               // no row for the method but some for the path: "GET, DELETE"
};

// HEAD is matched as GET.
RouteMatch match_route(boost::beast::http::verb method, std::string_view path);

}  // namespace llmux::admin
