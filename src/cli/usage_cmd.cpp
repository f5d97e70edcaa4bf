// llmux usage [--since 7d] [--until …] [--by provider|model|key|day] [--json] [--reprice]: what
// the usage ledger in the state dir holds, summed the way GET /api/usage sums it.
#include <chrono>
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "discovery/defaults.hpp"
#include "governance/prices.hpp"
#include "storage/ledger.hpp"
#include "storage/usage_query.hpp"
#include "store/sources.hpp"

namespace llmux::cli {
namespace {

std::string usd(int64_t nano) { return "$" + governance::format_usd_nanos(nano); }

int reprice(const UsageArgs& args, storage::UsageLedger& ledger, const GatewayConfig& config) {
  auto result = ledger.reprice([&](const std::string& provider, const std::string& model) -> std::optional<ModelPrices> {
    for (const auto& p : config.providers) {
      if (p.id != provider) continue;
      for (const auto& m : p.models)
        if (m.id == model) return m.prices;
    }
    return std::nullopt;
  });
  if (!result) {
    print_error(result.error());
    return kFailed;
  }
  if (args.json) {
    print_json(boost::json::object{{"repriced", result->repriced}, {"unpriced", result->unpriced}});
  } else {
    std::printf("repriced %lld request(s) with the current prices", static_cast<long long>(result->repriced));
    if (result->unpriced)
      std::printf("; %lld left as they were (their model is no longer configured)", static_cast<long long>(result->unpriced));
    std::printf("\n");
  }
  return kOk;
}

}  // namespace

int usage(const UsageArgs& args) {
  store::SourceOptions so;
  so.config_file = args.config_file;
  so.strict_env = false;
  so.discover = false;
  auto sources = store::assemble(store::Paths::from_environment(), so);
  if (!sources) return report(sources.error());
  const auto& config = sources->config;
  std::string state_dir = config.state_dir.empty() ? discovery::state_dir() : config.state_dir;
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  auto query = storage::parse_usage_query(args.since, args.until, args.by, now_ms);
  if (!query) {
    print_error("--" + query.error());
    return kUsage;
  }
  if (auto dir = store::ensure_dir(state_dir, 0700); !dir) return report(dir.error());
  auto ledger = storage::open_sqlite_ledger({storage::ledger_path(state_dir)});
  if (!ledger) {
    print_error(ledger.error());
    return kFailed;
  }
  if (args.reprice) return reprice(args, **ledger, config);
  auto result = (*ledger)->report(*query);
  if (!result) {
    print_error(result.error());
    return kFailed;
  }
  if (args.json) {
    print_json(boost::json::parse(storage::usage_report_json(*query, *result)));
    return kOk;
  }
  std::string first = query->by == storage::UsageGrouping::none ? "" : std::string(storage::grouping_name(query->by));
  Table table({first.empty() ? "" : first, "requests", "input", "cached", "cache write", "output", "reasoning", "cost (USD)"});
  auto row = [&](const std::string& name, const storage::UsageTotals& t) {
    std::string cost = usd(t.cost_nano_usd);
    if (t.estimated_requests) cost += " (" + std::to_string(t.estimated_requests) + " estimated)";
    table.add({name, std::to_string(t.requests), std::to_string(t.input_tokens), std::to_string(t.cached_tokens),
               std::to_string(t.cache_write_tokens), std::to_string(t.output_tokens), std::to_string(t.reasoning_tokens),
               cost});
  };
  if (query->by != storage::UsageGrouping::none)
    for (const auto& g : result->groups) row(g.group.empty() ? "-" : g.group, g);
  row("total", result->total);
  table.print(stdout);
  return kOk;
}

}  // namespace llmux::cli
