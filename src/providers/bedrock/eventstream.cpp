#include "providers/bedrock/eventstream.hpp"

#include "providers/bedrock/crc32.hpp"

namespace llmux::providers::bedrock {

namespace {

uint32_t read_u32(const char* p) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 | static_cast<uint32_t>(b[2]) << 8 |
         static_cast<uint32_t>(b[3]);
}

uint16_t read_u16(const char* p) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>(b[0] << 8 | b[1]);
}

// Header value types of the framing, and the fixed sizes of those that have one.
enum HeaderType : uint8_t {
  kTrue = 0, kFalse = 1, kByte = 2, kShort = 3, kInteger = 4, kLong = 5,
  kByteArray = 6, kString = 7, kTimestamp = 8, kUuid = 9,
};

int fixed_value_size(uint8_t type) noexcept {
  switch (type) {
    case kTrue: case kFalse: return 0;
    case kByte: return 1;
    case kShort: return 2;
    case kInteger: return 4;
    case kLong: case kTimestamp: return 8;
    case kUuid: return 16;
    default: return -1;
  }
}

}  // namespace

size_t EventStreamDecoder::message_length(std::string_view bytes) {
  // The prelude's own CRC first: its lengths are not to be believed otherwise.
  if (crc32(bytes.substr(0, 8)) != read_u32(bytes.data() + 8)) {
    failure_ = "event-stream prelude CRC mismatch";
    return 0;
  }
  uint32_t total = read_u32(bytes.data());
  uint32_t headers = read_u32(bytes.data() + 4);
  if (total < kMinMessageBytes || total > kMaxMessageBytes) {
    failure_ = "event-stream message length out of bounds";
    return 0;
  }
  if (headers > total - kMinMessageBytes) {
    failure_ = "event-stream headers length past the end of the message";
    return 0;
  }
  return total;
}

bool EventStreamDecoder::read_message(std::string_view message, EventStreamMessage& out) {
  size_t end = message.size() - 4;
  if (crc32(message.substr(0, end)) != read_u32(message.data() + end)) {
    failure_ = "event-stream message CRC mismatch";
    return false;
  }
  size_t headers_end = kPreludeBytes + read_u32(message.data() + 4);
  headers_.clear();
  const char* p = message.data();
  for (size_t at = kPreludeBytes; at < headers_end;) {
    size_t name_length = static_cast<unsigned char>(p[at++]);
    // name, then the type byte
    if (name_length == 0 || headers_end - at < name_length + 1) {
      failure_ = "event-stream header name runs past the headers";
      return false;
    }
    std::string_view name(p + at, name_length);
    at += name_length;
    uint8_t type = static_cast<uint8_t>(p[at++]);
    size_t value_length;
    size_t value_at = at;
    if (type == kString || type == kByteArray) {
      if (headers_end - at < 2) {
        failure_ = "event-stream header value runs past the headers";
        return false;
      }
      value_length = read_u16(p + at);
      value_at = at + 2;
    } else if (int fixed = fixed_value_size(type); fixed >= 0) {
      value_length = static_cast<size_t>(fixed);
    } else {
      failure_ = "event-stream header of an unknown value type";
      return false;
    }
    if (headers_end - value_at < value_length) {
      failure_ = "event-stream header value runs past the headers";
      return false;
    }
    if (type == kString) headers_.push_back({name, std::string_view(p + value_at, value_length)});
    at = value_at + value_length;
  }
  out.headers = headers_.data();
  out.header_count = headers_.size();
  out.payload = message.substr(headers_end, end - headers_end);
  return true;
}

http::SseEvent as_sse_event(const EventStreamMessage& message, std::string& name) {
  std::string_view type = message.header(":message-type");
  if (type == "exception") {
    name.assign(kExceptionEventPrefix);
    name.append(message.header(":exception-type"));
    return {name, message.payload};
  }
  if (type == "error") {
    name.assign(kErrorEventPrefix);
    name.append(message.header(":error-code"));
    return {name, message.header(":error-message")};
  }
  return {message.header(":event-type"), message.payload};
}

}  // namespace llmux::providers::bedrock
