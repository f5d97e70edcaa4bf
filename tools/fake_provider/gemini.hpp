// The fake Gemini API (Google AI Studio): POST /v1beta/models/{model}:generateContent and
// :streamGenerateContent?alt=sse, GET /v1beta/models, key in x-goog-api-key. The text, stream
// pieces and token counts are the ones the OpenAI side gives for the same conversation
// (reply.hpp). No I/O here, as for the other APIs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reply.hpp"

namespace llmux::fake {

// Google's error body {"error":{"code","message","status"}}; the status follows from the code.
Reply gemini_error(unsigned status, std::string_view message);

class GeminiApi {
 public:
  explicit GeminiApi(const std::vector<std::string>& models);

  // Whether a request for `path` (the target without its query) is answered in Gemini's shape.
  static bool serves(std::string_view path) { return path.starts_with("/v1beta/"); }

  // A request that passed authentication and the scripted status. `body` is an object unless
  // `bad_json` or the request has no body. Thread-safe.
  Reply answer(const Request& req, std::string_view path, const boost::json::value& body, bool bad_json,
               const Script& s) const;

 private:
  bool known(std::string_view model) const;

  std::vector<std::string> models_;
  std::string models_body_;
};

}  // namespace llmux::fake
