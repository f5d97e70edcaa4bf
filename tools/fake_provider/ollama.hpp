// The fake Ollama native API: POST /api/chat (a JSON body, or an NDJSON stream — Ollama streams
// unless the request says "stream": false), POST /api/embed, GET /api/tags. Errors are Ollama's
// {"error":"…"}; an error after the stream began is a last line of that shape under status 200.
// The text, pieces and token counts are the ones the other APIs give for the same conversation
// (reply.hpp). No I/O here, as for the other APIs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reply.hpp"

namespace llmux::fake {

Reply ollama_error(unsigned status, std::string_view message);

class OllamaApi {
 public:
  explicit OllamaApi(const std::vector<std::string>& models);

  static bool serves(std::string_view path) { return path.starts_with("/api/"); }

  // A request that passed authentication and the scripted status. `body` is an object unless
  // `bad_json` or the request has no body. Thread-safe.
  Reply answer(const Request& req, std::string_view path, const boost::json::value& body, bool bad_json,
               const Script& s) const;

 private:
  bool known(std::string_view model) const;

  std::vector<std::string> models_;
  std::string tags_body_;
};

}  // namespace llmux::fake
