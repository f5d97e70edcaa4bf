// The events of an Anthropic message stream as a client reads them: each `event:` name with its
// `data:` JSON, in order.
#pragma once

#include <boost/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace llmux::test {

struct AnthropicEvent {
  std::string name;
  boost::json::object data;
};

inline std::vector<AnthropicEvent> anthropic_events_of(const std::string& sse) {
  std::vector<AnthropicEvent> out;
  std::string name;
  std::istringstream in(sse);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("event: ")) name = line.substr(7);
    else if (line.starts_with("data: ")) out.push_back({name, boost::json::parse(line.substr(6)).as_object()});
  }
  return out;
}

}  // namespace llmux::test
