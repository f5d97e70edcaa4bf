// llmux_micro_bench: Google Benchmark suite of the per-request hot path. The inputs are built from
// the recorded provider fixtures before any benchmark runs; see bench/micro/README.md.
//
//   request_bench.cpp   read_request (parse + model extraction), rewrite_request, read_usage
//   routing_bench.cpp   ModelCatalog::resolve: provider/model, bare id, alias, unknown (404)
//   sse_bench.cpp       SseParser over recorded OpenAI and Anthropic streams, whole and 7-byte pieces
//   provider_bench.cpp  OpenAICompatibleProvider::encode and decode_error, to_openai_json
//
// Still to add, when the code exists (issue 3, item 4):
//   - each adapter's chunk translation: once a translating adapter lands (Anthropic Messages first,
//     then Gemini, Bedrock, Cohere), one benchmark per adapter translating every event of its
//     recorded stream (anthropic/*.sse.txt, gemini/, bedrock/*.eventstream.bin, cohere/*.chunks.jsonl)
//     into OpenAI chat.completion.chunk bodies, fed whole and in 7-byte pieces like SseParse, plus its
//     non-streamed response translation. The OpenAI-compatible adapter passes chunks through
//     unchanged, so today SseParse + ReadUsage are its whole per-chunk cost.
//   - metrics update: once the metrics registry lands, the per-request record (counter increments
//     and a latency histogram observation keyed by provider/model/status), single-threaded and
//     contended from 2 threads (->Threads(2)), and the /metrics text rendering.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <exception>

#include "corpus.hpp"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    llmux::bench::load_corpus();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llmux_micro_bench: %s\n", e.what());
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
