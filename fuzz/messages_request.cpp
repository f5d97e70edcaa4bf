// The inbound Anthropic Messages request reader (providers/anthropic/anthropic_inbound): a client's
// /v1/messages body. Properties: a body it converts becomes valid JSON that the gateway's request
// reader accepts, with the same model, a non-empty messages array and max_tokens; a body it refuses
// gets a 400 with a message; the count_tokens form converts whenever the full form does.
#include <string>

#include "fuzz_support.hpp"
#include "json/request_view.hpp"
#include "providers/anthropic/anthropic_inbound.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = llmux::fuzz::as_text(data, size);
  std::string chat;
  auto converted = llmux::providers::messages_to_chat_request(body, chat);
  if (!converted) {
    LLMUX_FUZZ_CHECK(converted.error().http_status == 400 && !converted.error().message.empty());
  } else {
    LLMUX_FUZZ_CHECK(!llmux::json::locate_syntax_error(chat));
    llmux::json::RequestFields fields;
    LLMUX_FUZZ_CHECK(llmux::json::read_request(chat, fields).has_value());
    LLMUX_FUZZ_CHECK(fields.messages_type == llmux::json::JsonType::array);
    LLMUX_FUZZ_CHECK(fields.model_type == llmux::json::JsonType::string);
    LLMUX_FUZZ_CHECK(fields.max_tokens.has_value());
    std::string counted;
    auto count = llmux::providers::messages_to_chat_request(body, counted, true);
    LLMUX_FUZZ_CHECK(count.has_value());
    LLMUX_FUZZ_CHECK(count->text_bytes == converted->text_bytes);
  }
  LLMUX_FUZZ_CHECK(llmux::providers::estimate_tokens_from_text(size) >= 1);
  (void)llmux::providers::read_anthropic_usage(body);
  return 0;
}
