// How a provider's stream is cut into events: SSE, NDJSON (Ollama) or AWS event-stream (Bedrock).
// One interface over all three, so the exchange feeds bytes the same way whatever the wire: every
// framing hands out http::SseEvent (an event-stream message as eventstream.hpp's as_sse_event
// describes). Not thread-safe; one per stream.
#pragma once

#include <string>
#include <string_view>

#include "core/heap_optional.hpp"
#include "http/sse.hpp"
#include "providers/bedrock/eventstream.hpp"
#include "providers/chat_events.hpp"

namespace llmux::server {

class StreamFramer {
 public:
  // Forgets any partial event; the next stream is cut as `framing` says.
  void reset(providers::StreamFraming framing = providers::StreamFraming::sse) {
    framing_ = framing;
    sse_.reset(framing == providers::StreamFraming::ndjson);
    if (framing == providers::StreamFraming::aws_eventstream) eventstream_.get_or_make().decoder.reset();
    corrupt_reported_ = false;
  }

  // Feeds bytes; calls on_event(const http::SseEvent&) for every event completed by them (views
  // valid during the call; on_event returns false to stop). Returns false when stopped. A corrupt
  // event-stream is reported once as a providers::bedrock::kCorruptStreamEvent event.
  template <typename OnEvent>
  bool feed(std::string_view bytes, OnEvent&& on_event) {
    if (framing_ != providers::StreamFraming::aws_eventstream) return sse_.feed(bytes, on_event);
    auto& stream = *eventstream_;  // made by reset()
    bool fed = stream.decoder.feed(bytes, [&](const providers::bedrock::EventStreamMessage& message) {
      return on_event(static_cast<const http::SseEvent&>(providers::bedrock::as_sse_event(message, stream.event_name)));
    });
    if (fed || !stream.decoder.failed() || corrupt_reported_) return fed;
    corrupt_reported_ = true;
    on_event(http::SseEvent{providers::bedrock::kCorruptStreamEvent, stream.decoder.failure()});
    return false;
  }

  // Bytes held for an incomplete event.
  size_t buffered() const noexcept {
    return framing_ == providers::StreamFraming::aws_eventstream ? eventstream_->decoder.buffered() : sse_.buffered();
  }
  // NDJSON's last line may end without its newline: the stream's end completes it.
  // Between events of a slow stream: empty parse buffers give their memory back.
  size_t release_idle() noexcept { return sse_.release_idle(); }
  bool ends_with_open_line() const noexcept {
    return framing_ == providers::StreamFraming::ndjson && sse_.buffered() > 0;
  }

 private:
  providers::StreamFraming framing_ = providers::StreamFraming::sse;
  http::SseParser sse_;
  // Bedrock's framing only: made for the first such stream, so the framer of every other stream
  // (one per open client connection) carries none of it.
  struct EventStream {
    providers::bedrock::EventStreamDecoder decoder;
    std::string event_name;
  };
  HeapOptional<EventStream> eventstream_;
  bool corrupt_reported_ = false;
};

}  // namespace llmux::server
