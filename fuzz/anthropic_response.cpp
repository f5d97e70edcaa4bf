// The Anthropic decoder (providers/anthropic) through the ResponseDecoder interface, writing
// OpenAI's wire format; the properties are in response_decoder_check.hpp.
#include "providers/anthropic/anthropic.hpp"
#include "response_decoder_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<llmux::providers::ResponseDecoder> decoder = llmux::providers::make_anthropic_decoder();
  llmux::fuzz::check_response_decoder(*decoder, llmux::fuzz::as_text(data, size), size);
  return 0;
}
