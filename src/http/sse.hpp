// Incremental Server-Sent Events parser (WHATWG framing): bytes arrive split at arbitrary points,
// complete events come out. In NDJSON mode (Ollama's streams) every non-blank line is one event
// whose data is the line. Not thread-safe; one instance per stream.
#pragma once

#include <algorithm>
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
  // Returns 1 when a line completed an event (dispatch pending), 0 otherwise. `in_input`: the line
  // is a view into the bytes being fed, valid until feed() returns.
  //
  // An event's first data line, when it lies in the fed bytes, is kept as a view into them,
  // `input_data` (feed()'s, so no parser carries it between events): the usual single-line event
  // dispatched in the same feed is never copied. hold_data copies it into data_ when a second
  // line follows or the feed ends before the event does.
  bool take_line(std::string_view line, bool in_input, std::string_view& input_data);
  void hold_data(std::string_view input_data);
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
  bool data_in_input_ = false;  // the event's data is feed()'s view into the input
  bool skip_lf_ = false;  // last feed ended on '\r'; a leading '\n' belongs to it
  bool ndjson_ = false;
};

// Where lines end in one fed piece of bytes. The next '\n' and the next '\r' are each remembered
// from one memchr until a line passes it: upstreams end lines with '\n' alone, so a read costs one
// scan for '\r' instead of one per line (find_first_of would test every byte against the set),
// and a stream of bare '\r' line ends costs no rescans for '\n' either.
class LineEnds {
 public:
  explicit LineEnds(std::string_view bytes) noexcept : bytes_(bytes), lf_(find(0, '\n')), cr_(find(0, '\r')) {}
  // Position of the first '\r' or '\n' at or after pos (pos < size), or npos.
  size_t next(size_t pos) noexcept {
    if (lf_ < pos) lf_ = find(pos, '\n');
    if (cr_ < pos) cr_ = find(pos, '\r');
    return std::min(lf_, cr_);
  }

 private:
  size_t find(size_t pos, char c) const noexcept {
    if (pos >= bytes_.size()) return std::string_view::npos;
    const void* hit = std::memchr(bytes_.data() + pos, c, bytes_.size() - pos);
    return hit ? static_cast<size_t>(static_cast<const char*>(hit) - bytes_.data()) : std::string_view::npos;
  }
  std::string_view bytes_;
  size_t lf_, cr_;  // the next of each at or after the last position searched from, or npos
};

template <typename OnEvent>
bool SseParser::feed(std::string_view bytes, OnEvent&& on_event) {
  size_t pos = 0;
  if (skip_lf_ && !bytes.empty()) {
    skip_lf_ = false;
    if (bytes[0] == '\n') pos = 1;
  }
  LineEnds line_ends(bytes);
  std::string_view data_in_input;  // the event's data while data_in_input_
  while (pos < bytes.size()) {
    size_t end = line_ends.next(pos);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(pos));
      break;
    }
    bool dispatch;
    if (line_.empty()) {
      dispatch = take_line(bytes.substr(pos, end - pos), true, data_in_input);
    } else {
      line_.append(bytes.substr(pos, end - pos));
      std::string line = std::move(line_);
      line_.clear();
      dispatch = take_line(line, false, data_in_input);
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
      bool keep_going = on_event(SseEvent{event_, data_in_input_ ? data_in_input : std::string_view(data_)});
      data_.clear();
      event_.clear();
      has_data_ = data_in_input_ = false;
      if (!keep_going) {
        return_data_buffer();
        return false;
      }
    }
  }
  if (data_in_input_) hold_data(data_in_input);  // the event goes on in the next feed: its data is copied now
  if (!has_data_) return_data_buffer();
  return true;
}

}  // namespace llmux::http
