// Model resolution over a catalog of 10 providers and 161 models (corpus.cpp): what every request
// pays to map its "model" to a provider and upstream id, and the 404 path with suggestions. Then
// the router's success path (route, first decision, success report, x-llmux-attempts).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <new>

#include "corpus.hpp"
#include "router/attempt_planner.hpp"

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

// --- the router on the success path ---------------------------------------------------------------
// What issue 11's routing adds to every request that succeeds at once: the route of a model with a
// two-deployment chain (breakers on), the planner's first decision (breaker admission, in-flight
// count, attempt limits), the success report (breaker success, TTFT EWMA) and the x-llmux-attempts
// value. None of it may allocate or lock; `allocations` counts operator new calls per iteration
// (a thread-local increment in every allocation of this binary: about a nanosecond).

namespace {
thread_local uint64_t g_allocations = 0;
}  // namespace

void* operator new(size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace llmux::bench {
namespace {

struct RouterFixture {
  RouterFixture() {
    for (const char* id : {"primary", "secondary"}) {
      ProviderConfig p;
      p.id = id;
      p.base_url = std::string("http://127.0.0.1:9/") + id;
      p.models.push_back({.id = "gpt-4o", .upstream_id = "gpt-4o"});
      providers.push_back(std::move(providers::make_provider(p).value()));
    }
    ModelRouteConfig smart{.name = "smart", .deployments = {{"primary", "gpt-4o", 1, 1}, {"secondary", "gpt-4o", 2, 1}}};
    routes.push_back(smart);
    catalog = std::make_unique<router::ModelCatalog>(providers);
    table = std::make_unique<router::RouteTable>(providers, routes, BalanceStrategy::priority, *catalog);
    stats = std::make_unique<router::DeploymentStats>(table->slot_count());
    breakers = std::make_unique<router::LocalBreakerStore>(table->slot_count(), config.breaker);
  }
  RouterConfig config;
  std::vector<ModelRouteConfig> routes;
  std::vector<std::unique_ptr<providers::Provider>> providers;
  std::unique_ptr<router::ModelCatalog> catalog;
  std::unique_ptr<router::RouteTable> table;
  std::unique_ptr<router::DeploymentStats> stats;
  std::unique_ptr<router::LocalBreakerStore> breakers;
};

void RoutePickAndSuccess(benchmark::State& state, std::string_view model) {
  static RouterFixture f;
  router::SplitMixRandom random(1);
  router::Route route;
  std::string header;
  header.reserve(256);
  uint64_t allocations = 0;
  for (auto _ : state) {
    uint64_t before = g_allocations;
    router::Instant now = router::Instant::now();
    if (!f.table->route({.model = model}, *f.stats, random, route)) return state.SkipWithError("no route");
    router::AttemptPlanner planner(f.config, route, *f.breakers, *f.stats, random, now, f.config.total_timeout);
    router::Decision d = planner.first(now);
    if (d.action != router::Decision::Action::attempt) return state.SkipWithError("no attempt");
    d = planner.after(router::AttemptOutcome::success(std::chrono::microseconds(250000)), now);
    header.clear();
    planner.append_attempts_header(header);
    benchmark::DoNotOptimize(header.data());
    allocations += g_allocations - before;
  }
  if (header != std::string("1; ") + route[0].label + "=200") state.SkipWithError("unexpected attempts header");
  state.counters["allocations"] = benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
}
BENCHMARK_CAPTURE(RoutePickAndSuccess, models_chain, "smart");
BENCHMARK_CAPTURE(RoutePickAndSuccess, list_chain, "gpt-4o");

}  // namespace
}  // namespace llmux::bench
