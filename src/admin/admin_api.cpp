// The answers every admin endpoint shares: errors in the OpenAI shape (with the field problems of
// a validation failure) and plain JSON bodies.
#include "admin/admin_api.hpp"

#include <boost/json.hpp>

namespace llmux::admin {

namespace {

std::string retry_after_header(const Error& error) {
  return error.retry_after ? "Retry-After: " + *error.retry_after + "\r\n" : std::string();
}

}  // namespace

AdminAnswer error_answer(const Error& error) {
  AdminAnswer answer;
  answer.status = error.http_status;
  answer.body = to_openai_json(error);
  answer.headers = retry_after_header(error);
  return answer;
}

AdminAnswer error_answer(const Error& error, const std::vector<FieldProblem>& problems) {
  boost::json::value shape = boost::json::parse(to_openai_json(error));
  boost::json::array list;
  for (const auto& p : problems) list.push_back(boost::json::object{{"field", p.field}, {"message", p.message}});
  shape.as_object()["error"].as_object()["errors"] = std::move(list);
  AdminAnswer answer;
  answer.status = error.http_status;
  answer.body = boost::json::serialize(shape);
  answer.headers = retry_after_header(error);
  return answer;
}

AdminAnswer json_answer(std::string body, int status) {
  AdminAnswer answer;
  answer.status = status;
  answer.body = std::move(body);
  return answer;
}

}  // namespace llmux::admin
