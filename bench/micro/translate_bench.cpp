// Adapter translation, per stream and per request, next to what a pass-through stream costs:
// - StreamChunks/anthropic: the recorded Anthropic stream through SSE framing, the Anthropic
//   decoder and the OpenAI chunk writer, as the server runs it for a translated stream.
// - StreamChunks/openai_passthrough: the recorded OpenAI stream through SSE framing and the usage
//   pre-check (plus reading the one usage chunk), which is all a pass-through stream costs.
// - TranslateRequest: an OpenAI chat request into an Anthropic Messages request (~400 B, ~4 KB,
//   ~64 KB).
// - TranslateBody: anthropic/messages-nonstream.json into an OpenAI chat.completion.
#include <benchmark/benchmark.h>

#include <vector>

#include "corpus.hpp"
#include "http/sse.hpp"
#include "json/request_view.hpp"
#include "providers/anthropic/anthropic.hpp"
#include "providers/openai_output.hpp"

namespace llmux::bench {
namespace {

size_t count(std::string_view text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// piece_size 0: the stream in one read; otherwise in reads of that many bytes (worst-case
// fragmentation: most events straddle reads, so the SSE parser carries partial lines).
void StreamChunksAnthropic(benchmark::State& state, size_t piece_size) {
  const std::string& stream = corpus().anthropic_sse;
  std::vector<std::string_view> pieces;
  for (size_t pos = 0; pos < stream.size(); pos += piece_size ? piece_size : stream.size())
    pieces.push_back(std::string_view(stream).substr(pos, piece_size ? piece_size : stream.size()));
  auto decoder = providers::make_anthropic_decoder();
  providers::OpenAIChunkWriter writer;
  http::SseParser parser;
  std::string out;
  auto translate = [&] {
    out.clear();
    parser.reset();
    decoder->reset();
    writer.begin(&out, 1700000000, true);
    for (std::string_view piece : pieces) {
      parser.feed(piece, [&](const http::SseEvent& e) {
        if (!decoder->decode_event(e, writer)) writer.fail(Error::make(ErrorKind::upstream_error, "bad event"));
        return true;
      });
    }
  };
  translate();
  // Once, untimed: a complete stream, every text delta became a chunk, nothing failed.
  if (!writer.done() || count(out, "\"content\":\"") != count(stream, "\"text_delta\"") + 1)
    return state.SkipWithError("translation of the recorded stream is wrong");
  for (auto _ : state) {
    translate();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(stream.size()));
  state.counters["events"] = benchmark::Counter(static_cast<double>(corpus().anthropic_sse_events),
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::to_string(corpus().anthropic_sse_events) + " events in, " +
                 std::to_string(count(out, "data: ")) + " out");
}
BENCHMARK_CAPTURE(StreamChunksAnthropic, whole, 0)->Name("StreamChunks/anthropic");
BENCHMARK_CAPTURE(StreamChunksAnthropic, pieces, 7)->Name("StreamChunks/anthropic_7B_pieces");

void StreamChunksOpenAIPassthrough(benchmark::State& state) {
  const std::string& stream = corpus().openai_sse;
  http::SseParser parser;
  json::Usage usage;
  auto scan = [&] {
    parser.reset();
    usage = {};
    parser.feed(stream, [&](const http::SseEvent& e) {
      if (json::has_usage_object(e.data))
        if (auto u = json::read_usage(e.data)) usage = *u;
      return true;
    });
  };
  scan();
  if (usage.total_tokens == 0) return state.SkipWithError("usage not found in the recorded stream");
  for (auto _ : state) {
    scan();
    benchmark::DoNotOptimize(usage);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(stream.size()));
  state.counters["events"] = benchmark::Counter(static_cast<double>(corpus().openai_sse_events),
                                                benchmark::Counter::kIsIterationInvariantRate);
  // Compared with AdapterStream/*'s (adapter_bench.cpp).
  state.counters["ns/event"] = benchmark::Counter(static_cast<double>(corpus().openai_sse_events),
                                                  benchmark::Counter::kIsIterationInvariantRate |
                                                      benchmark::Counter::kInvert);
}
BENCHMARK(StreamChunksOpenAIPassthrough)->Name("StreamChunks/openai_passthrough");

void TranslateRequest(benchmark::State& state, std::string Corpus::*which) {
  const std::string& body = corpus().*which;
  std::string out;
  const json::JsonMembers no_defaults;
  auto once = providers::translate_chat_request(body, "claude-sonnet-4-5", true, no_defaults, out);
  if (!once || out.find("\"messages\":[") == std::string::npos)
    return state.SkipWithError(once ? "no messages in the translated request" : once.error().message.c_str());
  for (auto _ : state) {
    out.clear();
    auto done = providers::translate_chat_request(body, "claude-sonnet-4-5", true, no_defaults, out);
    benchmark::DoNotOptimize(done);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
  state.SetLabel(std::to_string(body.size()) + " B -> " + std::to_string(out.size()) + " B");
}
BENCHMARK_CAPTURE(TranslateRequest, small, &Corpus::chat_small);
BENCHMARK_CAPTURE(TranslateRequest, medium, &Corpus::chat_medium);
BENCHMARK_CAPTURE(TranslateRequest, large, &Corpus::chat_large);

void TranslateBody(benchmark::State& state) {
  const std::string& body = corpus().anthropic_response;
  auto decoder = providers::make_anthropic_decoder();
  providers::ChatResponse response;
  std::string out;
  if (!decoder->decode_body(body, response) || response.text.empty())
    return state.SkipWithError("the recorded response did not decode");
  for (auto _ : state) {
    out.clear();
    auto decoded = decoder->decode_body(body, response);
    providers::write_chat_completion(response, 1700000000, out);
    benchmark::DoNotOptimize(decoded);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
}
BENCHMARK(TranslateBody)->Name("TranslateBody/anthropic");

}  // namespace
}  // namespace llmux::bench
