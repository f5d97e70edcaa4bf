// The fake AWS Bedrock runtime (Converse API), under the prefix /bedrock: POST
// /bedrock/model/{modelId}/converse (a JSON body) and /converse-stream (AWS's binary event-stream,
// CRCs computed), GET /bedrock/foundation-models (the control plane's listing). Requests must carry
// a well-formed SigV4 Authorization header; with --require-key the signature is recomputed with
// that key as the secret access key. Errors are {"message"} with x-amzn-ErrorType. The text, pieces
// and token counts are the ones the other APIs give for the same conversation (reply.hpp). No I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reply.hpp"

namespace llmux::fake {

Reply bedrock_error(unsigned status, std::string_view message);

class BedrockApi {
 public:
  BedrockApi(const std::vector<std::string>& models, std::string secret_access_key);

  static constexpr std::string_view kPrefix = "/bedrock";
  static bool serves(std::string_view path) { return path.starts_with("/bedrock/"); }

  // A request after the scripted status check. `path` is the target's path (still
  // percent-encoded), `query` what follows its '?'. Thread-safe.
  Reply answer(const Request& req, std::string_view path, std::string_view query, const boost::json::value& body,
               bool bad_json, const Script& s) const;

 private:
  // Empty when the request's signature headers are acceptable, else why not.
  std::string signature_problem(const Request& req, std::string_view path, std::string_view query) const;
  bool known(std::string_view model) const;

  std::vector<std::string> models_;
  std::string secret_;  // empty: the signature's form is checked, not its value
  std::string models_body_;
};

}  // namespace llmux::fake
