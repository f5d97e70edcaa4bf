// Reading helpers shared by the decoders of providers' JSON wire formats (simdjson On-Demand).
// String values are taken as raw tokens, so text reaches the client still escaped, exactly as the
// provider wrote it; these helpers check what simdjson does not check on that path.
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "json/json_check.hpp"
#include "llmux/error.hpp"

namespace llmux::providers::decode {

namespace od = simdjson::ondemand;

// True when every backslash in escaped string contents starts a valid JSON escape. simdjson
// checks escapes only when it unescapes a string; raw tokens skip that (raw control characters
// and bad UTF-8 are caught when the document is indexed), and an invalid escape passed on would
// make the client's JSON invalid.
inline bool valid_escapes(std::string_view text) {
  for (size_t i = text.find('\\'); i != std::string_view::npos; i = text.find('\\', i)) {
    if (++i == text.size()) return false;
    switch (text[i++]) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        break;
      case 'u':
        if (text.size() - i < 4) return false;
        for (size_t end = i + 4; i < end; ++i)
          if (!std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

// The contents of a string value between its quotes, still escaped. A value of another type
// leaves `out` as it is; a string with an invalid escape is an error.
inline simdjson::error_code escaped_string(od::value value, std::string_view& out) {
  od::json_type type;
  if (value.type().get(type) || type != od::json_type::string) return simdjson::SUCCESS;
  std::string_view raw = value.raw_json_token();
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t'))
    raw.remove_suffix(1);
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return simdjson::STRING_ERROR;
  std::string_view contents = raw.substr(1, raw.size() - 2);
  if (!valid_escapes(contents)) return simdjson::STRING_ERROR;
  out = contents;
  return simdjson::SUCCESS;
}

// Calls on_member(key, value) for each member of an object value, in order; stops at the first
// error, from the JSON or from on_member.
template <typename OnMember>
simdjson::error_code for_each_member(od::value object_value, OnMember&& on_member) {
  od::object object;
  if (auto ec = object_value.get_object().get(object)) return ec;
  for (auto field : object) {
    std::string_view key;
    if (auto ec = field.unescaped_key().get(key)) return ec;
    od::value value;
    if (auto ec = field.value().get(value)) return ec;
    if (auto ec = on_member(key, value)) return ec;
  }
  return simdjson::SUCCESS;
}

// Calls on_item(value) for each element of an array value; stops at the first error.
template <typename OnItem>
simdjson::error_code for_each_item(od::value array_value, OnItem&& on_item) {
  od::array array;
  if (auto ec = array_value.get_array().get(array)) return ec;
  for (auto item : array) {
    od::value value;
    if (auto ec = item.get(value)) return ec;
    if (auto ec = on_item(value)) return ec;
  }
  return simdjson::SUCCESS;
}

// One embedding (an array of numbers) appended to OpenAI's list as entry `index`; the numbers
// are checked (On-Demand skips them unread) and copied as the provider wrote them.
inline simdjson::error_code append_embedding(od::value vector, size_t index, std::string& out) {
  od::array numbers;
  std::string_view text;
  if (auto ec = vector.get_array().get(numbers)) return ec;
  if (auto ec = numbers.raw_json().get(text)) return ec;
  if (json::check_json(text)) return simdjson::TAPE_ERROR;
  if (index) out += ',';
  out += "{\"object\":\"embedding\",\"index\":";
  out += std::to_string(index);
  out += ",\"embedding\":";
  out += text;
  out += '}';
  return simdjson::SUCCESS;
}

// The 502 for a provider's answer that cannot be read ("Bedrock sent a malformed stream event").
inline Error malformed_response(std::string_view provider, std::string_view what) {
  Error e = Error::make(ErrorKind::upstream_error, std::string(provider) + " sent a malformed " + std::string(what), {},
                        "upstream_malformed_response");
  e.http_status = 502;
  return e;
}

// An integer member, 0 when it is of another type.
inline int64_t integer(od::value value) {
  int64_t n = 0;
  return value.get_int64().get(n) ? 0 : n;
}

}  // namespace llmux::providers::decode
