// Incremental Server-Sent Events parser (WHATWG framing): bytes arrive split at arbitrary points,
// complete events come out. In NDJSON mode (Ollama's streams) every non-blank line is one event
// whose data is the line. Not thread-safe; one instance per stream.
#pragma once

#include <cstring>
#include <string>
#include <string_view>

namespace llmux::http {

struct SseEvent {
  std::string_view event;  // "" when the event has no "event:" field
  std::string_view data;   // data lines joined with '\n'
};

class SseParser {
 public:
  // Feeds bytes; calls on_event(const SseEvent&) for every event completed by them. The views are
  // valid only during the call. Returns false if on_event returned false (stop requested).
  template <typename OnEvent>
  bool feed(std::string_view bytes, OnEvent&& on_event);

  // Bytes held for an incomplete line or event.
  size_t buffered() const noexcept { return line_.size() + data_.size() + event_.size(); }
  // Forgets any partial event; the next stream is framed as NDJSON when `ndjson`.
  void reset(bool ndjson = false);
  // Between events of a slow stream: the buffers that hold nothing give their memory back.
  // Returns the bytes released.
  size_t release_idle() noexcept;
  // Buffer storage the parser holds now (a partial line or event).
  size_t held_capacity() const noexcept;

 private:
  // Returns 1 when a line completed an event (dispatch pending), 0 otherwise.
  bool take_line(std::string_view line);
  // An event's data is assembled in a buffer lent per thread: a parser holds one only while an
  // event is incomplete, so an open stream waiting for its next event holds none (issue 12),
  // and a warm thread allocates nothing. Events come out within feed(), so one lent buffer serves
  // every stream of the thread.
  void borrow_data_buffer() noexcept;
  void return_data_buffer() noexcept;

  std::string line_;   // partial line carried across feeds
  std::string data_;
  std::string event_;
  bool has_data_ = false;
  bool skip_lf_ = false;  // last feed ended on '\r'; a leading '\n' belongs to it
  bool ndjson_ = false;
};

// Position of the first '\r' or '\n' at or after pos, or npos. Two memchr scans instead of
// find_first_of, which tests every byte against the set.
inline size_t find_line_end(std::string_view s, size_t pos) {
  const char* base = s.data();
  const void* nl = std::memchr(base + pos, '\n', s.size() - pos);
  size_t limit = nl ? static_cast<size_t>(static_cast<const char*>(nl) - base) : s.size();
  if (const void* cr = std::memchr(base + pos, '\r', limit - pos))
    return static_cast<size_t>(static_cast<const char*>(cr) - base);
  return nl ? limit : std::string_view::npos;
}

template <typename OnEvent>
bool SseParser::feed(std::string_view bytes, OnEvent&& on_event) {
  size_t pos = 0;
  if (skip_lf_ && !bytes.empty()) {
    skip_lf_ = false;
    if (bytes[0] == '\n') pos = 1;
  }
  while (pos < bytes.size()) {
    size_t end = find_line_end(bytes, pos);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(pos));
      break;
    }
    bool dispatch;
    if (line_.empty()) {
      dispatch = take_line(bytes.substr(pos, end - pos));
    } else {
      line_.append(bytes.substr(pos, end - pos));
      std::string line = std::move(line_);
      line_.clear();
      dispatch = take_line(line);
    }
    if (bytes[end] == '\r') {
      if (end + 1 < bytes.size()) {
        if (bytes[end + 1] == '\n') ++end;
      } else {
        skip_lf_ = true;
      }
    }
    pos = end + 1;
    if (dispatch) {
      bool keep_going = on_event(SseEvent{event_, data_});
      data_.clear();
      event_.clear();
      has_data_ = false;
      if (!keep_going) {
        return_data_buffer();
        return false;
      }
    }
  }
  if (!has_data_) return_data_buffer();
  return true;
}

}  // namespace llmux::http
