#include "reply.hpp"

#include "core/json_text.hpp"

#include <algorithm>
#include <charconv>

namespace llmux::fake {
namespace json = boost::json;

Reply stream_reply(std::string_view content_type) {
  Reply r;
  r.stream = true;
  r.content_type = content_type;
  return r;
}

void append_num(std::string& out, std::uint64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

void append_str(std::string& out, std::string_view s) { llmux::append_json_string(out, s); }

namespace {

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }
bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Cut at a code point boundary so that the prefix stays valid UTF-8.
std::string_view prefix_code_points(std::string_view s, std::size_t n) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!is_continuation(s[i]) && seen++ == n) return s.substr(0, i);
  return s;
}

// Offsets just past the end of each whitespace-separated word.
std::vector<std::size_t> word_ends(std::string_view s) {
  std::vector<std::size_t> ends;
  for (std::size_t i = 0; i < s.size();) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i == s.size()) break;
    while (i < s.size() && !is_space(s[i])) ++i;
    ends.push_back(i);
  }
  return ends;
}

}  // namespace

std::size_t code_points(std::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return !is_continuation(c); });
}

std::vector<std::string_view> split_pieces(std::string_view text, int n) {
  std::vector<std::string_view> pieces;
  if (n <= 0) return pieces;
  std::vector<std::size_t> cuts(n + 1, text.size());
  cuts[0] = 0;
  auto ends = word_ends(text);
  if (ends.size() >= std::size_t(n)) {
    for (int k = 1; k < n; ++k) cuts[k] = ends[k * ends.size() / n - 1];
  } else {
    std::vector<std::size_t> starts;
    for (std::size_t i = 0; i < text.size(); ++i)
      if (!is_continuation(text[i])) starts.push_back(i);
    for (int k = 1; k < n; ++k) {
      std::size_t idx = k * starts.size() / n;
      cuts[k] = idx < starts.size() ? starts[idx] : text.size();
    }
  }
  for (int k = 0; k < n; ++k) pieces.push_back(text.substr(cuts[k], cuts[k + 1] - cuts[k]));
  return pieces;
}

std::string_view str_field(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return v->get_string();
  return {};
}

bool bool_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

std::optional<std::uint64_t> positive_int(const json::value* v) {
  if (!v) return std::nullopt;
  if (auto* i = v->if_int64(); i && *i > 0) return std::uint64_t(*i);
  if (auto* u = v->if_uint64(); u && *u > 0) return *u;
  return std::nullopt;
}

std::string joined_text(const json::value& content) {
  std::string out;
  for_each_text(content, [&](std::string_view t) {
    if (!out.empty()) out += ' ';
    out += t;
  });
  return out;
}

std::string trailing_assistant_text(const boost::json::object& req) {
  auto* msgs = req.if_contains("messages");
  if (!msgs || !msgs->is_array() || msgs->get_array().empty()) return {};
  auto* last = msgs->get_array().back().if_object();
  if (!last || str_field(*last, "role") != "assistant") return {};
  auto* content = last->if_contains("content");
  return content ? joined_text(*content) : std::string();
}

Answer answer(const Script& s, std::string_view said, std::size_t prompt_chars,
              std::optional<std::uint64_t> max_tokens) {
  Answer a;
  if (s.content_size > 0) {
    static constexpr std::string_view kFiller = "lorem ipsum dolor sit amet ";
    a.text.reserve(static_cast<std::size_t>(s.content_size));
    while (a.text.size() < static_cast<std::size_t>(s.content_size))
      a.text.append(kFiller.substr(0, std::min(kFiller.size(), s.content_size - a.text.size())));
  } else if (s.content) {
    a.text = *s.content;
  } else {
    a.text = "Hello from llmux-fake-provider. You said: ";
    a.text += prefix_code_points(said, 200);
  }
  a.prompt_tokens = token_estimate(prompt_chars);
  auto ends = word_ends(a.text);
  std::uint64_t words = ends.size();
  if (max_tokens && *max_tokens < words) {
    a.text.resize(ends[*max_tokens - 1]);
    words = *max_tokens;
    a.length = true;
  }
  a.completion_tokens = std::max<std::uint64_t>(words, 1);
  a.reasoning = s.reasoning;
  a.reasoning_tokens = word_ends(a.reasoning).size();
  return a;
}

void continue_prefill(const boost::json::object& req, Answer& a) {
  std::string prefill = trailing_assistant_text(req);
  if (!prefill.empty() && a.text.starts_with(prefill)) a.text.erase(0, prefill.size());
}

}  // namespace llmux::fake
