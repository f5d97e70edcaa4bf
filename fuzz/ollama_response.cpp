// The Ollama decoder (providers/ollama) through the ResponseDecoder interface, its input read as
// a /api/chat body and as an NDJSON stream, writing OpenAI's wire format; the properties are in
// response_decoder_check.hpp. The same input is also read as an /api/embed body.
#include "providers/ollama/ollama.hpp"
#include "response_decoder_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<llmux::providers::ResponseDecoder> decoder = llmux::providers::make_ollama_decoder();
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
