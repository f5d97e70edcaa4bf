// The fake OpenAI-compatible API: turns a parsed HTTP request into a scripted reply. No I/O here;
// the connection code in fake_server.cpp decides how and when the bytes go out.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "script.hpp"

namespace llmux::fake {

using Request = boost::beast::http::request<boost::beast::http::string_body>;

struct Reply {
  enum class End { normal, truncate, reset };

  unsigned status = 200;
  std::string_view content_type = "application/json";
  std::string headers;  // extra header lines, each ending in "\r\n"
  std::string body;     // when !stream

  bool stream = false;
  std::vector<std::string> events;  // when stream: complete SSE events ("data: ...\n\n")
  std::size_t first_content = 0;    // index of the first event that counts as a chunk

  int latency_ms = 0;
  int interval_ms = 0;
  bool hang = false;
  bool early_hints = false;
  End end = End::normal;
  std::size_t cut = 0;  // events sent before a truncate/reset
};

// An OpenAI error object; the type (and code, unless given) follow from the status.
Reply error_reply(unsigned status, std::string_view message, std::string_view code = {});

class Provider {
 public:
  explicit Provider(Options opt);

  // Thread-safe.
  Reply handle(const Request& req) const;

 private:
  Reply route(const Request& req, std::string_view path, std::string_view deployment,
              const boost::json::value& body, const Script& script) const;

  Options opt_;
  std::string models_body_;
  std::vector<std::pair<std::string, std::string>> model_bodies_;  // id -> model object
  mutable std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace llmux::fake
