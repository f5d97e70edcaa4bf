// The Cohere decoder (providers/cohere) through the ResponseDecoder interface, its input read as
// a v2 chat body and as an SSE stream of typed events, writing OpenAI's wire format; the
// properties are in response_decoder_check.hpp. The same input is also read as a v2 embed body.
#include "providers/cohere/cohere.hpp"
#include "response_decoder_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<llmux::providers::ResponseDecoder> decoder = llmux::providers::make_cohere_decoder();
  std::string_view input = llmux::fuzz::as_text(data, size);
  llmux::fuzz::check_response_decoder(*decoder, input, size);
  std::string out;
  llmux::json::Usage usage;
  if (decoder->decode_embeddings(input, "m", out, usage)) {
    simdjson::dom::element root;
    LLMUX_FUZZ_CHECK(!llmux::fuzz::decoder_check::json_parser().parse(simdjson::padded_string(out)).get(root));
  }
  return 0;
}
