// AWS event-stream framing (providers/bedrock/eventstream) and the Bedrock decoder behind it. The
// input is read as an event-stream: whole and in the pieces split_pieces makes, the decoder must
// give the same messages and the same verdict (no state leaks across a split), never buffer more
// than one message's bounded length, and its views must lie inside the message. Through the
// exchange's StreamFramer and the Bedrock ResponseDecoder it must make a valid OpenAI stream; the
// input is also read as a Converse body.
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "providers/bedrock/bedrock.hpp"
#include "providers/bedrock/eventstream.hpp"
#include "response_decoder_check.hpp"
#include "server/stream_framing.hpp"

namespace {

using llmux::providers::bedrock::EventStreamDecoder;
using llmux::providers::bedrock::EventStreamMessage;

struct Decoded {
  std::vector<std::string> messages;  // headers and payload, flattened
  bool failed = false;
};

template <typename Pieces>
Decoded decode(EventStreamDecoder& decoder, const Pieces& pieces) {
  Decoded d;
  decoder.reset();
  for (std::string_view piece : pieces) {
    bool fed = decoder.feed(piece, [&](const EventStreamMessage& m) {
      std::string flat;
      for (size_t i = 0; i < m.header_count; ++i) {
        flat += m.headers[i].name;
        flat += '=';
        flat += m.headers[i].value;
        flat += '\n';
      }
      flat += m.payload;
      LLMUX_FUZZ_CHECK(flat.size() <= EventStreamDecoder::kMaxMessageBytes);
      d.messages.push_back(std::move(flat));
      return true;
    });
    LLMUX_FUZZ_CHECK(decoder.buffered() < EventStreamDecoder::kMaxMessageBytes);
    if (!fed) break;
  }
  d.failed = decoder.failed();
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llmux;
  std::string_view input = fuzz::as_text(data, size);
  static EventStreamDecoder framing;
  Decoded whole = decode(framing, std::vector<std::string_view>{input});
  Decoded split = decode(framing, fuzz::split_pieces(input));
  LLMUX_FUZZ_CHECK(whole.messages == split.messages);
  LLMUX_FUZZ_CHECK(whole.failed == split.failed);

  static std::unique_ptr<providers::ResponseDecoder> decoder = providers::make_bedrock_decoder();
  providers::ChatResponse response;
  if (decoder->decode_body(input, response)) fuzz::decoder_check::check_completion_body(response);

  decoder->reset();
  providers::OpenAIChunkWriter writer;
  std::string out;
  writer.begin(&out, fuzz::decoder_check::kCreated, size % 2 == 0);
  server::StreamFramer framer;
  framer.reset(decoder->stream_framing());
  for (std::string_view piece : fuzz::split_pieces(input)) {
    framer.feed(piece, [&](const http::SseEvent& event) {
      if (writer.ended()) return false;
      if (auto decoded = decoder->decode_event(event, writer); !decoded) writer.fail(std::move(decoded).error());
      return true;
    });
  }
  fuzz::decoder_check::check_client_stream(out, writer.ended());
  return 0;
}
