// The fake Cohere v2 API, under the prefix /cohere (so that its /v1/models does not meet the
// OpenAI one): POST /cohere/v2/chat (a JSON body, or an SSE stream of typed events), POST
// /cohere/v2/embed, GET /cohere/v1/models; errors {"id","message"}. The text, pieces and token
// counts are the ones the other APIs give for the same conversation (reply.hpp). No I/O here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reply.hpp"

namespace llmux::fake {

Reply cohere_error(unsigned status, std::string_view message);

class CohereApi {
 public:
  explicit CohereApi(const std::vector<std::string>& models);

  static constexpr std::string_view kPrefix = "/cohere";
  static bool serves(std::string_view path) { return path.starts_with("/cohere/"); }

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
