// The fake Vertex AI: the OAuth token endpoint a service-account key names (POST /token, the
// JWT bearer grant of RFC 7523; /token/refused refuses every assertion) and, for requests that
// carry a token it issued and that has not expired, Gemini and Claude under
// /v1/projects/{p}/locations/{r}/publishers/{google|anthropic}/models/{m}:{method}, answered by
// the Gemini and Anthropic fakes. GET /v1beta1/publishers/google/models lists the models; GET
// /_fake/vertex counts token requests. No I/O here, as for the other APIs.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "anthropic.hpp"
#include "gemini.hpp"
#include "reply.hpp"
#include "script.hpp"

namespace llmux::fake {

class VertexApi {
 public:
  VertexApi(const Options& opt, const GeminiApi& gemini, const AnthropicApi& anthropic);

  // `path` as Provider::handle has it: the target without its query, "/v1" dropped.
  static bool serves(std::string_view path) {
    return path == "/token" || path == "/token/refused" || path == "/_fake/vertex" || path.starts_with("/projects/") ||
           path.starts_with("/v1beta1/publishers/");
  }

  // Thread-safe. `body` is an object unless `bad_json` or the request has no body.
  Reply answer(const Request& req, std::string_view path, const boost::json::value& body, bool bad_json,
               const Script& s) const;

 private:
  Reply token(const Request& req, bool refused) const;
  // Why the assertion is refused, or "".
  std::string assertion_problem(std::string_view assertion, std::string_view audience) const;
  bool authorized(const Request& req) const;
  Reply model_call(const Request& req, std::string_view path, const boost::json::value& body, bool bad_json,
                   const Script& s) const;

  const GeminiApi& gemini_;
  const AnthropicApi& anthropic_;
  std::chrono::seconds lifetime_;
  std::string public_key_pem_;
  std::string listing_;

  mutable std::mutex mu_;
  mutable std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> issued_;  // token -> expiry
  mutable long token_requests_ = 0;
};

}  // namespace llmux::fake
