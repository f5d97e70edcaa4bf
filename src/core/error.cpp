#include "llmux/error.hpp"

#include <boost/json.hpp>

namespace llmux {

int default_status(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::invalid_request: return 400;
    case ErrorKind::authentication: return 401;
    case ErrorKind::permission: return 403;
    case ErrorKind::not_found: return 404;
    case ErrorKind::payload_too_large: return 413;
    case ErrorKind::unsupported_media_type: return 415;
    case ErrorKind::rate_limited: return 429;
    case ErrorKind::upstream_error: return 502;
    case ErrorKind::upstream_unreachable: return 502;
    case ErrorKind::upstream_timeout: return 504;
    case ErrorKind::unsupported: return 501;
    case ErrorKind::internal: return 500;
  }
  return 500;
}

const char* default_type(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::invalid_request:
    case ErrorKind::payload_too_large:
    case ErrorKind::unsupported_media_type:
    case ErrorKind::unsupported: return "invalid_request_error";
    case ErrorKind::authentication: return "authentication_error";
    case ErrorKind::permission: return "permission_error";
    case ErrorKind::not_found: return "not_found_error";
    case ErrorKind::rate_limited: return "rate_limit_error";
    case ErrorKind::upstream_error: return "upstream_error";
    case ErrorKind::upstream_unreachable: return "upstream_unreachable";
    case ErrorKind::upstream_timeout: return "upstream_timeout";
    case ErrorKind::internal: return "server_error";
  }
  return "server_error";
}

Error Error::make(ErrorKind kind, std::string message, std::string param, std::string code) {
  Error e;
  e.kind = kind;
  e.http_status = default_status(kind);
  e.message = std::move(message);
  e.type = default_type(kind);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

std::string to_openai_json(const Error& error) {
  boost::json::object inner;
  inner["message"] = error.message;
  inner["type"] = error.type.empty() ? default_type(error.kind) : error.type;
  inner["param"] = error.param.empty() ? boost::json::value(nullptr) : boost::json::value(error.param);
  inner["code"] = error.code.empty() ? boost::json::value(nullptr) : boost::json::value(error.code);
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

}  // namespace llmux
