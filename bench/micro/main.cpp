// llmux_micro_bench: Google Benchmark suite of the per-request hot path. The inputs are built from
// the recorded provider fixtures before any benchmark runs; see bench/micro/README.md.
//
//   request_bench.cpp   read_request (parse + model extraction), rewrite_request, read_usage
//   routing_bench.cpp   ModelCatalog::resolve: provider/model, bare id, alias, unknown (404)
//   sse_bench.cpp       SseParser over recorded OpenAI and Anthropic streams, whole and 7-byte pieces
//   provider_bench.cpp  OpenAICompatibleProvider::encode and decode_error, to_openai_json
//   http_bench.cpp      client request and upstream response head parsing, stream usage pre-check
//   translate_bench.cpp Anthropic stream/response/request translation vs. an OpenAI pass-through
//   metrics_bench.cpp   the per-request metrics record and the /metrics rendering
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
