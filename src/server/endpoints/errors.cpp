#include "observability/log.hpp"
#include "server/connection.hpp"
#include "server/endpoints/endpoints.hpp"

namespace llmux::server {

Error method_not_allowed(const char* allowed) {
  Error e = Error::make(ErrorKind::invalid_request, "method not allowed; use " + std::string(allowed), {},
                        "method_not_allowed");
  e.http_status = 405;
  return e;
}

void answer_error(Connection& connection, const Error& error, std::string_view request_id,
                  std::string_view headers) {
  answer_error(connection, error, request_id, headers, to_openai_json(error));
}

void answer_error(Connection& connection, const Error& error, std::string_view request_id,
                  std::string_view headers, std::string_view body) {
  std::string line = "request ";
  line += request_id;
  line += " rejected: " + std::to_string(error.http_status) + " " + error.code + ": " + error.message;
  observability::log_warning(line);
  if (!error.retry_after) return connection.respond(error.http_status, "application/json", body, headers);
  std::string with_retry(headers);
  with_retry += "Retry-After: " + *error.retry_after + "\r\n";
  connection.respond(error.http_status, "application/json", body, with_retry);
}

}  // namespace llmux::server
