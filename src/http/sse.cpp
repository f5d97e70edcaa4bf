#include "http/sse.hpp"

namespace llmux::http {

namespace {

constexpr size_t kMaxLentCapacity = 64 * 1024;  // a larger data buffer is freed, not lent again

std::string& lent_data_buffer() {
  thread_local std::string buffer;
  return buffer;
}

}  // namespace

void SseParser::borrow_data_buffer() noexcept {
  auto& lent = lent_data_buffer();
  if (data_.empty() && lent.capacity() > data_.capacity()) data_.swap(lent);
}

void SseParser::return_data_buffer() noexcept {
  if (!data_.empty() || data_.capacity() <= std::string().capacity()) return;
  auto& lent = lent_data_buffer();
  if (data_.capacity() > lent.capacity() && data_.capacity() <= kMaxLentCapacity) data_.swap(lent);
  std::string().swap(data_);  // whichever buffer is left over
}

size_t SseParser::held_capacity() const noexcept {
  size_t held = 0;
  for (const std::string* s : {&line_, &data_, &event_})
    if (s->capacity() > std::string().capacity()) held += s->capacity();
  return held;
}

void SseParser::reset(bool ndjson) {
  ndjson_ = ndjson;
  line_.clear();
  data_.clear();
  event_.clear();
  has_data_ = data_in_input_ = false;
  skip_lf_ = false;
  return_data_buffer();
}

void SseParser::hold_data(std::string_view input_data) {
  borrow_data_buffer();
  data_.assign(input_data);
  data_in_input_ = false;
}

size_t SseParser::release_idle() noexcept {
  size_t released = 0;
  for (std::string* s : {&line_, &data_, &event_})
    if (s->empty() && s->capacity() > std::string().capacity()) {
      released += s->capacity();
      std::string().swap(*s);
    }
  return released;
}

bool SseParser::take_line(std::string_view line, bool in_input, std::string_view& input_data) {
  if (ndjson_) {
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos) return false;
    if (in_input) {
      input_data = line.substr(first);
      data_in_input_ = true;
    } else {
      borrow_data_buffer();
      data_.assign(line.substr(first));
    }
    has_data_ = true;
    return true;
  }
  if (line.empty()) {
    if (has_data_) return true;
    event_.clear();  // an event without data is discarded, per the spec
    return false;
  }
  if (line[0] == ':') return false;  // comment / keep-alive
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (!has_data_ && in_input) {
      input_data = value;
      data_in_input_ = true;
    } else {
      if (data_in_input_) hold_data(input_data);
      if (has_data_) data_.push_back('\n');
      else borrow_data_buffer();
      data_.append(value);
    }
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  }
  return false;
}

}  // namespace llmux::http
