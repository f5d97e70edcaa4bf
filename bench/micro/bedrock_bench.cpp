// The aws-bedrock adapter, per stream and per request:
// - StreamChunks/bedrock: the recorded ConverseStream event-stream (converse-stream-text) through
//   the exchange's StreamFramer (both CRCs), the Bedrock decoder and the OpenAI chunk writer, as
//   the server runs a translated stream; in one read and in 7-byte reads. Compare with
//   StreamChunks/openai_passthrough (translate_bench.cpp).
// - EncodeRequest/bedrock_signed: an OpenAI chat request into a signed Converse request (the
//   body translated, the URL built, SigV4 over the body) into a reused UpstreamRequest.
// - SigV4/sign: the signature alone (the day's key already derived).
#include <benchmark/benchmark.h>

#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include "corpus.hpp"
#include "json/request_view.hpp"
#include "providers/bedrock/bedrock.hpp"
#include "providers/openai_output.hpp"
#include "server/stream_framing.hpp"

namespace llmux::bench {
namespace {

const std::string& recorded_stream() {
  static const std::string bytes = [] {
    std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/bedrock/converse-stream-text.eventstream.bin", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }();
  return bytes;
}

void StreamChunksBedrock(benchmark::State& state, size_t piece_size) {
  const std::string& stream = recorded_stream();
  if (stream.empty()) return state.SkipWithError("fixture bedrock/converse-stream-text.eventstream.bin not found");
  std::vector<std::string_view> pieces;
  for (size_t pos = 0; pos < stream.size(); pos += piece_size ? piece_size : stream.size())
    pieces.push_back(std::string_view(stream).substr(pos, piece_size ? piece_size : stream.size()));
  auto decoder = providers::make_bedrock_decoder();
  providers::OpenAIChunkWriter writer;
  server::StreamFramer framer;
  std::string out;
  size_t events = 0;
  auto translate = [&] {
    out.clear();
    events = 0;
    framer.reset(decoder->stream_framing());
    decoder->reset();
    writer.begin(&out, 1700000000, true);
    for (std::string_view piece : pieces) {
      framer.feed(piece, [&](const http::SseEvent& e) {
        ++events;
        if (!decoder->decode_event(e, writer)) writer.fail(Error::make(ErrorKind::upstream_error, "bad event"));
        return true;
      });
    }
  };
  translate();
  if (!writer.done()) return state.SkipWithError("translation of the recorded stream is wrong");
  for (auto _ : state) {
    translate();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(stream.size()));
  state.counters["events"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(StreamChunksBedrock, whole, 0)->Name("StreamChunks/bedrock");
BENCHMARK_CAPTURE(StreamChunksBedrock, pieces, 7)->Name("StreamChunks/bedrock_7B_pieces");

ProviderConfig bedrock_config() {
  ProviderConfig c;
  c.id = "br";
  c.type = "aws-bedrock";
  c.base_url = "https://bedrock-runtime.us-east-1.amazonaws.com";
  c.aws.region = "us-east-1";
  c.aws.access_key_id = "AKIDEXAMPLE";
  c.aws.secret_access_key = Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  return c;
}

void EncodeRequestBedrock(benchmark::State& state, std::string Corpus::*which) {
  const std::string& body = corpus().*which;
  providers::BedrockProvider provider(bedrock_config());
  json::RequestFields fields;
  providers::EncodeInput in{providers::Endpoint::chat_completions, body, &fields, "us.anthropic.claude-sonnet-4-v1:0",
                            "req-1", true};
  http::UpstreamRequest request;
  if (auto once = provider.encode_into(in, request); !once) return state.SkipWithError(once.error().message.c_str());
  for (auto _ : state) {
    auto done = provider.encode_into(in, request);
    benchmark::DoNotOptimize(done);
    benchmark::DoNotOptimize(request.body.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
  state.SetLabel(std::to_string(body.size()) + " B -> " + std::to_string(request.body.size()) + " B");
}
BENCHMARK_CAPTURE(EncodeRequestBedrock, small, &Corpus::chat_small)->Name("EncodeRequest/bedrock_signed_small");
BENCHMARK_CAPTURE(EncodeRequestBedrock, medium, &Corpus::chat_medium)->Name("EncodeRequest/bedrock_signed_medium");

void SignSigV4(benchmark::State& state) {
  providers::bedrock::SigV4Signer signer({"AKIDEXAMPLE", Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), Secret()},
                                         "us-east-1", "bedrock");
  const std::string& body = corpus().chat_small;
  providers::bedrock::SignedHeaders out;
  std::time_t now = std::time(nullptr);
  for (auto _ : state) {
    signer.sign({"POST", "bedrock-runtime.us-east-1.amazonaws.com", "/model/us.anthropic.claude-sonnet-4-v1%3A0/converse",
                 {}, body, nullptr, now},
                out);
    benchmark::DoNotOptimize(out.authorization.data());
  }
}
BENCHMARK(SignSigV4)->Name("SigV4/sign");

}  // namespace
}  // namespace llmux::bench
