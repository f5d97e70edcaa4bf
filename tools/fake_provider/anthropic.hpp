// The fake Anthropic Messages API: POST /v1/messages, and GET /v1/models in Anthropic's shape for
// requests that carry an anthropic-version header. The text, stream pieces and token counts are
// the ones the OpenAI side gives for the same conversation (reply.hpp), so tests can compare the
// two. No I/O here, as for the OpenAI side.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reply.hpp"

namespace llmux::fake {

// Anthropic's error body; the type follows from the status. `id` numbers the request: the body's
// request_id is the one the request-id header carries.
Reply anthropic_error(unsigned status, std::string_view message, std::uint64_t id);

// A small JSON value that `schema` accepts, so clients that validate tool input take it; the same
// schema always gives the same value. An object schema (or none) gives an object.
void append_sample(std::string& out, const boost::json::value& schema, int depth = 0);
void append_object_sample(std::string& out, const boost::json::object* schema, int depth = 0);

// "req_fake0000000000000042" and the like: Anthropic's ids are a prefix and 24 characters.
std::string anthropic_id(std::string_view prefix, std::uint64_t id);

class AnthropicApi {
 public:
  explicit AnthropicApi(const std::vector<std::string>& models);

  // Whether a request for `path` (below /v1) is answered in Anthropic's shape, errors included.
  static bool serves(std::string_view path, bool versioned);

  // A number for each request, for its ids.
  std::uint64_t next_id() const { return next_id_++; }

  // A request that passed authentication and the scripted status. `body` is an object unless
  // `bad_json` or the request has no body. Thread-safe.
  Reply answer(const Request& req, std::string_view path, const boost::json::value& body,
               bool bad_json, bool versioned, const Script& s, std::uint64_t id) const;

  // A Messages request already checked for shape, for `model` (the body's, or the one in a
  // Vertex AI URL, whose bodies carry none).
  Reply answer_for_model(const boost::json::object& body, std::string_view model, const Script& s,
                         std::uint64_t id) const;

 private:
  bool known(std::string_view model) const;

  std::vector<std::pair<std::string, std::string>> models_;  // id -> model object
  std::string models_body_;
  mutable std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace llmux::fake
