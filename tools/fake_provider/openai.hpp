// The fake OpenAI-compatible API (chat, completions, embeddings, models; also under Azure's
// deployment paths). No I/O here; the connection code in fake_server.cpp decides how and when the
// bytes go out.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reply.hpp"

namespace llmux::fake {

// An OpenAI error object; the type (and code, unless given) follow from the status.
Reply error_reply(unsigned status, std::string_view message, std::string_view code = {});

class OpenAiApi {
 public:
  explicit OpenAiApi(const std::vector<std::string>& models);

  // A request that passed authentication and the scripted status. `path` is below /v1 (or the
  // Azure deployment, then named by `deployment`); `body` is an object unless `bad_json` or the
  // request has no body. Thread-safe.
  Reply answer(const Request& req, std::string_view path, std::string_view deployment,
               const boost::json::value& body, bool bad_json, const Script& s) const;

 private:
  Reply route(const Request& req, std::string_view path, std::string_view deployment,
              const boost::json::value& body, const Script& s) const;

  std::string models_body_;
  std::vector<std::pair<std::string, std::string>> model_bodies_;  // id -> model object
  mutable std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace llmux::fake
