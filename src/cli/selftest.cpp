// provider test NAME: authentication, model listing, chat, streaming, error handling. The checks
// are admin/self_test (shared with POST /api/providers/{name}/test); this prints them and says what
// to do about a failure.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "admin/self_test.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "providers/provider.hpp"

namespace llmux::cli {

namespace bjson = boost::json;

namespace {

struct Check {
  admin::CheckResult result;
  std::string hint;
  std::string_view name() const { return admin::check_short_name(result.check); }
  bool pass() const { return result.status == admin::CheckStatus::pass; }
  bool skipped() const { return result.status == admin::CheckStatus::skip; }
};

// Loopback answers take well under a millisecond: whole milliseconds would show them all as 0.
std::string format_latency(std::chrono::microseconds latency) {
  double ms = static_cast<double>(latency.count()) / 1000.0;
  if (ms >= 10.0) return format_ms(std::chrono::duration_cast<std::chrono::milliseconds>(latency));
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 1.0 ? "%.2f ms" : "%.1f ms", ms);
  return buf;
}

// What to do about a server that did not answer; not "run provider test", which is running.
std::string down_hint(const Error& e, const Picked& picked) {
  const std::string& id = picked.config.id;
  if (e.code == "upstream_not_allowed" || e.message.find("upstream_not_allowed") != std::string::npos)
    return "the upstream guard refuses this address: allow it with admin.allowed_upstreams (README \"Upstream "
           "guard (SSRF)\"), or point the provider elsewhere with `llmux provider update " + id + " --url URL`";
  if (e.kind == ErrorKind::upstream_timeout)
    return "the server at " + picked.config.base_url + " accepted the connection but did not answer within " +
           providers::format_duration(picked.config.timeout) + ": check that it is healthy, or raise the limit with "
           "`llmux provider update " + id + " --timeout 2m`";
  return "nothing answers at " + picked.config.base_url + ": start the server (or check the host and port), or "
         "point the provider at the right URL with `llmux provider update " + id + " --url URL`";
}

std::string hint_for(const admin::CheckResult& result, const Picked& picked) {
  if (result.status != admin::CheckStatus::fail || !result.error) return {};
  const Error& e = *result.error;
  if (e.kind == ErrorKind::upstream_unreachable || e.kind == ErrorKind::upstream_timeout) return down_hint(e, picked);
  return provider_error_hint(e, picked);
}

const char* result_word(const Check& c) { return c.skipped() ? "SKIP" : c.pass() ? "PASS" : "FAIL"; }

void print_json_report(const Picked& picked, const std::vector<Check>& checks, bool passed) {
  bjson::array list;
  for (const auto& c : checks) {
    bjson::object o{{"name", c.name()}, {"result", admin::status_name(c.result.status)}};
    if (c.skipped()) o["latency_ms"] = nullptr;
    else o["latency_ms"] = admin::latency_ms(c.result.latency);
    o["detail"] = c.result.reason;
    if (!c.pass() && !c.hint.empty()) o["hint"] = c.hint;
    list.push_back(std::move(o));
  }
  print_json(bjson::object{{"provider", picked.config.id},
                           {"base_url", picked.config.base_url},
                           {"passed", passed},
                           {"checks", std::move(list)}});
}

void print_table(const std::vector<Check>& checks, size_t passed) {
  Table table({"CHECK", "RESULT", "LATENCY", "DETAIL"});
  for (const auto& c : checks)
    table.add({std::string(c.name()), result_word(c), c.skipped() ? "-" : format_latency(c.result.latency), c.result.reason});
  table.print(stdout, [&](size_t row, size_t column) -> const char* {
    if (column != 1) return nullptr;
    return checks[row].skipped() ? "1;33" : checks[row].pass() ? "1;32" : "1;31";
  });
  // One line per distinct diagnosis, naming every check it explains.
  std::vector<std::pair<std::string, std::string>> hints;  // checks, hint
  for (const auto& c : checks) {
    if (c.pass() || c.hint.empty()) continue;
    auto same = std::find_if(hints.begin(), hints.end(), [&](const auto& h) { return h.second == c.hint; });
    if (same == hints.end()) hints.emplace_back(std::string(c.name()), c.hint);
    else same->first += ", " + std::string(c.name());
  }
  for (const auto& [names, hint] : hints) std::printf("%s: %s\n", names.c_str(), hint.c_str());
  size_t skipped = static_cast<size_t>(std::count_if(checks.begin(), checks.end(), [](const Check& c) { return c.skipped(); }));
  std::printf("%zu/%zu checks passed%s\n", passed, checks.size(),
              skipped ? (" (" + std::to_string(skipped) + " not run)").c_str() : "");
}

}  // namespace

int provider_test(const TestArgs& args) {
  std::vector<admin::SelfCheck> wanted;
  for (admin::SelfCheck check : admin::kSelfChecks)
    if (args.tests.empty() || std::find(args.tests.begin(), args.tests.end(), admin::check_short_name(check)) != args.tests.end())
      wanted.push_back(check);
  auto session = open_session(args.config_file);
  if (!session) return report(session.error());
  auto picked = pick_provider(*session, args.name);
  if (!picked) return report(picked.error());
  warn_about(*picked);
  admin::SelfTestOptions options;
  options.model = args.model;
  options.key_source = picked->origin.key_source;
  options.no_model_advice = "pass --model M or set one (llmux provider update " + picked->config.id + " --default-model M)";
  admin::SelfTest tester(picked->config, options);
  if (auto ok = tester.start(); !ok) return report(store::Failure::of(store::FailKind::invalid, ok.error().message));
  bool on = stdout_color();
  if (!args.json)
    std::printf("%s\n", paint("testing provider " + picked->config.id + " at " + picked->config.base_url, "1", on).c_str());
  std::vector<Check> checks;
  for (admin::SelfCheck check : wanted) {
    Check c;
    if (tester.unreachable()) {
      c.result = tester.skip(check);
    } else {
      Spinner spinner("checking " + std::string(admin::check_short_name(check)) + " of " + picked->config.id + "…");
      c.result = tester.run(check);
    }
    c.hint = hint_for(c.result, *picked);
    checks.push_back(std::move(c));
  }
  size_t passed = static_cast<size_t>(std::count_if(checks.begin(), checks.end(), [](const Check& c) { return c.pass(); }));
  if (args.json) print_json_report(*picked, checks, passed == checks.size());
  else print_table(checks, passed);
  std::fflush(stdout);
  return passed == checks.size() ? kOk : kFailed;
}

}  // namespace llmux::cli
