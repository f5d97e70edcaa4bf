// Model resolution over a catalog of 10 providers and 161 models (corpus.cpp): what every request
// pays to map its "model" to a provider and upstream id, and the 404 path with suggestions.
#include <benchmark/benchmark.h>

#include "corpus.hpp"

namespace llmux::bench {
namespace {

// `expected` is the upstream id for a hit, or a substring of the error message for a miss.
void Resolve(benchmark::State& state, std::string_view requested, bool hit, std::string_view expected) {
  const router::ModelCatalog& catalog = *corpus().catalog;
  auto check = catalog.resolve(requested, {});
  if (check.has_value() != hit)
    return state.SkipWithError(hit ? check.error().message.c_str() : "unknown model resolved");
  if (hit ? check->upstream_model != expected
          : check.error().message.find(expected) == std::string::npos)
    return state.SkipWithError("unexpected resolution");

  for (auto _ : state) {
    auto resolution = catalog.resolve(requested, {});
    benchmark::DoNotOptimize(resolution);
  }
}
// "provider/model" whose model id has a '/' itself; 10th of the provider's 20 models (linear scan).
BENCHMARK_CAPTURE(Resolve, provider_model, "together/Qwen/Qwen2.5-72B-Instruct-Turbo", true,
                  "Qwen/Qwen2.5-72B-Instruct-Turbo");
BENCHMARK_CAPTURE(Resolve, bare_id, "gpt-4o-mini", true, "gpt-4o-mini");
BENCHMARK_CAPTURE(Resolve, alias, "mixtral-8x7b", true, "mistralai/Mixtral-8x7B-Instruct-v0.1");
// 404: a typo; the message lists close matches (edit distance against every known name).
BENCHMARK_CAPTURE(Resolve, unknown_404, "gpt-4o-mnii", false, "did you mean: ");
// The same path for a 1 KiB model name: the suggestion search is O(name length x catalog names),
// and nothing bounds the name before it (a client can send up to server.max_body_size).
const std::string kLongName(1024, 'x');
BENCHMARK_CAPTURE(Resolve, unknown_404_1KiB_name, kLongName, false, "not found");

}  // namespace
}  // namespace llmux::bench
