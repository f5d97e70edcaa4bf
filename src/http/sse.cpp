#include "http/sse.hpp"

namespace llmux::http {

void SseParser::reset(bool ndjson) {
  ndjson_ = ndjson;
  line_.clear();
  data_.clear();
  event_.clear();
  has_data_ = false;
  skip_lf_ = false;
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

bool SseParser::take_line(std::string_view line) {
  if (ndjson_) {
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos) return false;
    data_.assign(line.substr(first));
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
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  }
  return false;
}

}  // namespace llmux::http
