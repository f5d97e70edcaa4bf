// Writes AWS event-stream messages (see eventstream.hpp for the layout) with string headers and
// both CRCs. Header-only: the fake provider frames its Bedrock streams with it, tests and
// benchmarks build streams with it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "providers/bedrock/crc32.hpp"

namespace llmux::providers::bedrock {

namespace writer_detail {

inline void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

}  // namespace writer_detail

using StringHeaders = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Appends one message: `headers` as string-typed headers (type 7), then `payload`.
inline void append_event_stream_message(std::string& out, StringHeaders headers, std::string_view payload) {
  size_t headers_length = 0;
  for (const auto& [name, value] : headers) headers_length += 1 + name.size() + 1 + 2 + value.size();
  size_t start = out.size();
  writer_detail::put_u32(out, static_cast<uint32_t>(12 + headers_length + payload.size() + 4));
  writer_detail::put_u32(out, static_cast<uint32_t>(headers_length));
  writer_detail::put_u32(out, crc32(std::string_view(out).substr(start, 8)));
  for (const auto& [name, value] : headers) {
    out.push_back(static_cast<char>(name.size()));
    out.append(name);
    out.push_back(7);
    out.push_back(static_cast<char>((value.size() >> 8) & 0xFF));
    out.push_back(static_cast<char>(value.size() & 0xFF));
    out.append(value);
  }
  out.append(payload);
  writer_detail::put_u32(out, crc32(std::string_view(out).substr(start)));
}

// A ConverseStream event ("messageStart", "contentBlockDelta", …) with a JSON payload.
inline void append_event(std::string& out, std::string_view event_type, std::string_view payload) {
  append_event_stream_message(
      out, {{":event-type", event_type}, {":content-type", "application/json"}, {":message-type", "event"}}, payload);
}

// An exception message ("throttlingException", …) with Bedrock's {"message":…} payload.
inline void append_exception(std::string& out, std::string_view exception_type, std::string_view payload) {
  append_event_stream_message(
      out, {{":exception-type", exception_type}, {":content-type", "application/json"}, {":message-type", "exception"}},
      payload);
}

}  // namespace llmux::providers::bedrock
