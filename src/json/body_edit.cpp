#include "json/body_edit.hpp"

#include "json/simdjson_support.hpp"

namespace llmux::json {

namespace {

Error bad_fallbacks(std::string message) {
  return Error::make(ErrorKind::invalid_request, std::move(message), "fallbacks", "invalid_type");
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

// `i` at an opening quote; returns the index after the closing one.
size_t skip_string(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') ++i;
    else if (s[i] == '"') return i + 1;
  }
  return s.size();
}

// `i` at a value; returns the index after it.
size_t skip_value(std::string_view s, size_t i) {
  if (i >= s.size()) return i;
  if (s[i] == '"') return skip_string(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        i = skip_string(s, i);
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      else if ((c == '}' || c == ']') && --depth == 0) return i + 1;
      ++i;
    }
    return i;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_space(s[i])) ++i;
  return i;
}

// A raw key (between its quotes) equals `key` once unescaped; only the escapes a key could use
// to spell an ASCII name are decoded, anything else compares unequal.
bool key_equals(std::string_view raw, std::string_view key) {
  size_t k = 0;
  for (size_t i = 0; i < raw.size(); ++i, ++k) {
    char c = raw[i];
    if (c == '\\' && i + 1 < raw.size()) {
      char e = raw[++i];
      if (e == 'u' && i + 4 < raw.size() && raw.substr(i + 1, 2) == "00") {
        unsigned v = 0;
        for (char h : raw.substr(i + 3, 2)) v = v * 16 + (h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
        c = static_cast<char>(v);
        i += 4;
      } else if (e == '"' || e == '\\' || e == '/') {
        c = e;
      } else {
        return false;
      }
    }
    if (k >= key.size() || key[k] != c) return false;
  }
  return k == key.size();
}

}  // namespace

Expected<void, Error> read_fallbacks(std::string_view body, std::vector<std::string>& out) {
  out.clear();
  thread_local simdjson::dom::parser parser;
  thread_local std::string buffer;
  simdjson::dom::object root;
  if (parser.parse(padded_copy(body, buffer)).get_object().get(root))
    return unexpected(bad_fallbacks("request body must be a JSON object"));
  simdjson::dom::element value;
  if (root.at_key("fallbacks").get(value) || value.is_null()) return {};
  simdjson::dom::array list;
  if (value.get_array().get(list)) return unexpected(bad_fallbacks("'fallbacks' must be an array of model names"));
  for (simdjson::dom::element item : list) {
    std::string_view name;
    if (item.get_string().get(name)) return unexpected(bad_fallbacks("'fallbacks' must contain only strings"));
    if (name.empty()) return unexpected(bad_fallbacks("'fallbacks' must not contain an empty name"));
    out.emplace_back(name);
  }
  return {};
}

bool remove_top_level_member(std::string& body, std::string_view key) {
  std::string_view s = body;
  size_t i = skip_space(s, 0);
  if (i >= s.size() || s[i] != '{') return false;
  size_t previous_end = i + 1;  // just after '{' or after the previous member's value
  bool first = true;
  i = skip_space(s, i + 1);
  while (i < s.size() && s[i] == '"') {
    size_t key_begin = i;
    size_t key_end = skip_string(s, i);
    size_t colon = skip_space(s, key_end);
    if (colon >= s.size() || s[colon] != ':') return false;
    size_t value_end = skip_value(s, skip_space(s, colon + 1));
    size_t after = skip_space(s, value_end);
    bool more = after < s.size() && s[after] == ',';
    if (key_equals(s.substr(key_begin + 1, key_end - key_begin - 2), key)) {
      // Drop the member with the comma after it; the last member takes the comma before it.
      size_t cut_begin = key_begin, cut_end = more ? skip_space(s, after + 1) : value_end;
      if (!more && !first) cut_begin = previous_end;
      body.erase(cut_begin, cut_end - cut_begin);
      return true;
    }
    if (!more) return false;
    first = false;
    previous_end = value_end;
    i = skip_space(s, after + 1);
  }
  return false;
}

std::optional<ValueSpan> find_top_level_value(std::string_view s, std::string_view key) {
  size_t i = skip_space(s, 0);
  if (i >= s.size() || s[i] != '{') return std::nullopt;
  for (i = skip_space(s, i + 1); i < s.size() && s[i] == '"';) {
    size_t key_end = skip_string(s, i);
    size_t colon = skip_space(s, key_end);
    if (colon >= s.size() || s[colon] != ':') return std::nullopt;
    size_t begin = skip_space(s, colon + 1), end = skip_value(s, begin);
    if (end > begin && key_equals(s.substr(i + 1, key_end - i - 2), key)) return ValueSpan{begin, end};
    size_t after = skip_space(s, end);
    if (after >= s.size() || s[after] != ',') return std::nullopt;
    i = skip_space(s, after + 1);
  }
  return std::nullopt;
}

size_t skip_json_string(std::string_view body, size_t i) { return skip_string(body, i); }

}  // namespace llmux::json
