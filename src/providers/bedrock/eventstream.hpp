// Incremental decoder of AWS's binary event-stream framing (application/vnd.amazon.eventstream),
// the body of Bedrock's ConverseStream. Each message is
//   prelude:  total length (u32 BE), headers length (u32 BE), CRC-32 of those 8 bytes (u32 BE)
//   headers:  name length (u8), name, value type (u8), value (typed; strings are u16 BE length + bytes)
//   payload:  the rest, up to
//   trailer:  CRC-32 of everything before it (u32 BE)
// Bytes arrive split at arbitrary points; complete, checked messages come out. Both CRCs are
// verified before a message is trusted, and the lengths are bounded. Not thread-safe; one per stream.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/sse.hpp"

namespace llmux::providers::bedrock {

struct EventStreamHeader {
  std::string_view name;
  std::string_view value;  // string-typed headers only; the other types are checked and skipped
};

struct EventStreamMessage {
  const EventStreamHeader* headers = nullptr;
  size_t header_count = 0;
  std::string_view payload;

  // A string header's value, "" when the message has none by that name.
  std::string_view header(std::string_view name) const noexcept {
    for (size_t i = 0; i < header_count; ++i)
      if (headers[i].name == name) return headers[i].value;
    return {};
  }
};

class EventStreamDecoder {
 public:
  static constexpr size_t kPreludeBytes = 12;
  static constexpr size_t kMinMessageBytes = kPreludeBytes + 4;
  // AWS's own limit for one message; a larger length is a corrupt or hostile stream, and no
  // buffer grows past it.
  static constexpr size_t kMaxMessageBytes = 16u << 20;

  // Feeds bytes; calls on_message(const EventStreamMessage&) for every message completed by them
  // (views valid only during the call; on_message returns false to stop). Returns false when
  // stopped or when the stream is corrupt (failed(): every later feed is refused too).
  template <typename OnMessage>
  bool feed(std::string_view bytes, OnMessage&& on_message);

  void reset() {
    pending_.clear();
    failure_ = {};
  }
  size_t buffered() const noexcept { return pending_.size(); }
  bool failed() const noexcept { return !failure_.empty(); }
  std::string_view failure() const noexcept { return failure_; }  // what was wrong with the stream

 private:
  // The total length announced by a prelude (the first kPreludeBytes of `bytes`), 0 when it is
  // corrupt (failure_ says why).
  size_t message_length(std::string_view bytes);
  // Checks one whole message and fills `out` with views into it; false when corrupt.
  bool read_message(std::string_view message, EventStreamMessage& out);

  std::string pending_;  // a message begun in an earlier feed
  std::vector<EventStreamHeader> headers_;
  std::string_view failure_;  // a static description; empty while the stream is sound
};

template <typename OnMessage>
bool EventStreamDecoder::feed(std::string_view bytes, OnMessage&& on_message) {
  if (failed()) return false;
  EventStreamMessage message;
  while (!bytes.empty()) {
    if (pending_.empty()) {
      // The common case: whole messages straight from the read, with no copy.
      if (bytes.size() < kPreludeBytes) break;
      size_t length = message_length(bytes);
      if (length == 0) return false;
      if (bytes.size() < length) break;
      if (!read_message(bytes.substr(0, length), message)) return false;
      bytes.remove_prefix(length);
      if (!on_message(static_cast<const EventStreamMessage&>(message))) return false;
      continue;
    }
    if (pending_.size() < kPreludeBytes) {
      size_t take = std::min(kPreludeBytes - pending_.size(), bytes.size());
      pending_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (pending_.size() < kPreludeBytes) return true;
    }
    size_t length = message_length(pending_);
    if (length == 0) return false;
    size_t take = std::min(length - pending_.size(), bytes.size());
    pending_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (pending_.size() < length) return true;
    if (!read_message(pending_, message)) return false;
    bool keep_going = on_message(static_cast<const EventStreamMessage&>(message));
    pending_.clear();
    if (!keep_going) return false;
  }
  pending_.append(bytes);
  return true;
}

// How a message reaches a ResponseDecoder (as an http::SseEvent, server/stream_framing.hpp):
//   :message-type event      → event = its :event-type, data = the payload
//   :message-type exception  → event = "exception:" + its :exception-type, data = the payload
//   :message-type error      → event = "error:" + its :error-code, data = its :error-message
//   a corrupt stream         → event = kCorruptStreamEvent, data = what was wrong
inline constexpr std::string_view kExceptionEventPrefix = "exception:";
inline constexpr std::string_view kErrorEventPrefix = "error:";
inline constexpr std::string_view kCorruptStreamEvent = "error:corruptEventStream";

// The event for a message; `name` holds the event's name when it has to be composed.
http::SseEvent as_sse_event(const EventStreamMessage& message, std::string& name);

}  // namespace llmux::providers::bedrock
