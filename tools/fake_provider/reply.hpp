// What every API of the fake provider shares: the Reply the connection code sends, JSON text
// writing, and the scripted answer itself, so that one request gets the same text, pieces and
// token counts whichever wire format carries them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "script.hpp"

namespace llmux::fake {

using Request = boost::beast::http::request<boost::beast::http::string_body>;

struct Reply {
  enum class End { normal, truncate, reset, stall };

  unsigned status = 200;
  std::string status_line;  // when set, replaces "<status> <reason>" in the head
  bool chunked_body = false;  // a non-stream body framed by chunks instead of Content-Length
  std::string_view content_type = "application/json";
  std::string headers;  // extra header lines, each ending in "\r\n"
  std::string body;     // when !stream

  bool stream = false;
  std::vector<std::string> events;  // when stream: complete SSE events, blank line included
  std::size_t first_content = 0;    // index of the first event that counts as a chunk

  int latency_ms = 0;
  int interval_ms = 0;
  bool hang = false;
  bool early_hints = false;
  End end = End::normal;
  std::size_t cut = 0;  // events sent before a truncate/reset/stall
  int first_content_delay_ms = 0;  // before events[first_content]
};

Reply stream_reply(std::string_view content_type);

// ---- JSON text -----------------------------------------------------------------------------
// Responses are built by appending to strings: a JSON DOM per response would cost more than the
// rest of the request together.

void append_num(std::string& out, std::uint64_t n);
void append_str(std::string& out, std::string_view s);

// ---- text measures -------------------------------------------------------------------------

std::size_t code_points(std::string_view s);
// Tokens of text that is not an answer's prose (prompts, tool input): a quarter of its code points.
inline std::uint64_t token_estimate(std::size_t code_points) { return (code_points + 3) / 4; }
// `n` consecutive pieces covering `text`, split after words when there are enough of them, else
// between code points (pieces may then be empty). Streams always carry exactly `n` content events.
std::vector<std::string_view> split_pieces(std::string_view text, int n);

// ---- request fields ------------------------------------------------------------------------

std::string_view str_field(const boost::json::object& o, std::string_view key);
bool bool_field(const boost::json::object& o, std::string_view key);
// A JSON integer >= 1.
std::optional<std::uint64_t> positive_int(const boost::json::value* v);

// Calls f for each text of a message content: a string, or the "text" of each part.
template <typename F>
void for_each_text(const boost::json::value& content, F&& f) {
  if (auto* s = content.if_string()) {
    f(std::string_view(*s));
  } else if (auto* parts = content.if_array()) {
    for (auto& part : *parts)
      if (auto* o = part.if_object())
        if (auto* t = o->if_contains("text"); t && t->is_string()) f(std::string_view(t->get_string()));
  }
}

std::string joined_text(const boost::json::value& content);
// The text of the request's last message when it is the assistant's (a prefill); "" otherwise.
std::string trailing_assistant_text(const boost::json::object& req);


// ---- the answer ----------------------------------------------------------------------------

struct Answer {
  std::string text;
  std::string_view reasoning;  // the `reasoning` knob: what the model thought before answering
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;  // of the answer, without the reasoning
  std::uint64_t reasoning_tokens = 0;   // one per word of the reasoning; wires that count output add it
  bool length = false;  // cut short by max_tokens
};

// The `content` knob, else an echo of what the user said. Both APIs count tokens the same way:
// token_estimate() of the prompt, and one per word of the answer (at least one). The reasoning
// (the `reasoning` knob) is counted apart, one token per word.
Answer answer(const Script& s, std::string_view said, std::size_t prompt_chars,
              std::optional<std::uint64_t> max_tokens);

// A request ending with an assistant message (a prefill, as a resume sends it) is answered with
// what follows that text in the scripted answer, as a model continuing it would.
void continue_prefill(const boost::json::object& req, Answer& a);

}  // namespace llmux::fake
