// SSE framing of recorded upstream streams: one parser per stream (as the gateway creates one per
// response), fed the whole body at once or in 7-byte pieces (worst-case network fragmentation:
// every line and most events straddle feeds).
#include <benchmark/benchmark.h>

#include <vector>

#include "corpus.hpp"
#include "http/sse.hpp"

namespace llmux::bench {
namespace {

void SseParse(benchmark::State& state, std::string Corpus::*which, size_t Corpus::*events_in,
              size_t piece_size) {
  const std::string& stream = corpus().*which;
  const size_t expected_events = corpus().*events_in;
  std::vector<std::string_view> pieces;
  if (piece_size == 0) {
    pieces.push_back(stream);
  } else {
    for (size_t pos = 0; pos < stream.size(); pos += piece_size)
      pieces.push_back(std::string_view(stream).substr(pos, piece_size));
  }

  auto parse = [&pieces] {
    http::SseParser parser;
    size_t events = 0, data_bytes = 0;
    for (std::string_view piece : pieces) {
      parser.feed(piece, [&](const http::SseEvent& event) {
        benchmark::DoNotOptimize(event.data.data());
        ++events;
        data_bytes += event.data.size() + event.event.size();
        return true;
      });
    }
    benchmark::DoNotOptimize(data_bytes);
    return events;
  };
  if (parse() != expected_events) return state.SkipWithError("unexpected number of SSE events");

  for (auto _ : state) {
    size_t events = parse();
    benchmark::DoNotOptimize(events);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(stream.size()));
  state.counters["events"] = benchmark::Counter(static_cast<double>(expected_events),
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::to_string(stream.size()) + " B, " + std::to_string(expected_events) + " events");
}
// openai/chat-stream-text-usage.sse.txt: data-only events, a usage chunk, [DONE].
BENCHMARK_CAPTURE(SseParse, openai_whole, &Corpus::openai_sse, &Corpus::openai_sse_events, 0);
BENCHMARK_CAPTURE(SseParse, openai_7B_pieces, &Corpus::openai_sse, &Corpus::openai_sse_events, 7);
// anthropic/stream-after-tool-result.sse.txt: "event:" + "data:" per event, ping events.
BENCHMARK_CAPTURE(SseParse, anthropic_whole, &Corpus::anthropic_sse, &Corpus::anthropic_sse_events, 0);
BENCHMARK_CAPTURE(SseParse, anthropic_7B_pieces, &Corpus::anthropic_sse, &Corpus::anthropic_sse_events, 7);

}  // namespace
}  // namespace llmux::bench
