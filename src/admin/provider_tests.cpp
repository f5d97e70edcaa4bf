// POST /api/providers/{name}/test and POST /api/providers/test: the self-test (admin/self_test)
// of a configured provider or of an unsaved config, as
// {"provider","passed","checks":[{"name","status","latencyMs","reason"}]}. Runs on an admin thread.
#include "admin/provider_tests.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "admin/self_test.hpp"
#include "http/upstream_guard.hpp"
#include "server/gateway_state.hpp"

namespace llmux::admin {

namespace bjson = boost::json;

namespace {

// Each of the test's requests: an admin thread must not wait on a silent provider for its full
// (possibly minutes-long) timeout. A provider that does not answer skips the later checks.
constexpr std::chrono::milliseconds kCheckTimeout{10000};

AdminAnswer report_answer(const SelfTestReport& report) {
  bjson::array checks;
  for (const auto& c : report.checks) {
    bjson::object o{{"name", check_name(c.check)}, {"status", status_name(c.status)}};
    if (c.status == CheckStatus::skip) o["latencyMs"] = nullptr;
    else o["latencyMs"] = latency_ms(c.latency);
    o["reason"] = c.reason;
    checks.push_back(std::move(o));
  }
  return json_answer(bjson::serialize(
      bjson::object{{"provider", report.provider}, {"passed", report.passed()}, {"checks", std::move(checks)}}));
}

AdminAnswer run_test(const ProviderConfig& config) {
  SelfTestOptions options;
  options.request_timeout = std::min(config.timeout, kCheckTimeout);
  options.max_retries = 0;  // a diagnosis: a retry would hide the failure it is looking for
  auto report = run_self_test(config, options);
  if (!report) return error_answer(report.error());
  return report_answer(*report);
}

Error invalid(std::string message, std::string code = "invalid_provider_config") {
  Error e = Error::make(ErrorKind::invalid_request, std::move(message), {}, std::move(code));
  return e;
}

// 400 invalid_provider_config: the message joins every problem, `errors` lists them by field.
AdminAnswer config_errors_answer(const ConfigErrors& errors, std::string_view prefix) {
  std::vector<FieldProblem> problems;
  std::string joined;
  for (const auto& e : errors) {
    std::string field = e.key_path;
    if (field.rfind(prefix, 0) == 0) field.erase(0, std::min(field.size(), prefix.size() + 1));
    joined += (joined.empty() ? "" : "; ") + (field.empty() ? e.message : field + ": " + e.message);
    problems.push_back({field, e.message});
  }
  return error_answer(invalid(joined), problems);
}

// The unsaved config as the loader reads a config file's provider (JSON is YAML), validated with
// the running gateway's upstream guard settings.
// TODO(lead): switch to H2's admin/provider_json once merged (camelCase seed schema, short forms).
Expected<ProviderConfig, AdminAnswer> parse_unsaved(const std::string& body) {
  boost::system::error_code ec;
  auto parsed = bjson::parse(body, ec);
  if (ec || !parsed.is_object())
    return unexpected(error_answer(invalid("the body must be a JSON object: a provider config", "invalid_request_body")));
  auto& provider = parsed.as_object();
  if (!provider.contains("id")) {
    const bjson::value* name = provider.if_contains("name");
    provider["id"] = name && name->is_string() ? *name : bjson::value("unsaved");
  }
  UpstreamGuardConfig guard = http::upstream_guard_config();
  bjson::array allowed;
  for (const auto& entry : guard.allowed_upstreams) allowed.emplace_back(entry);
  bjson::object document{
      {"admin", bjson::object{{"allow_private", guard.allow_private}, {"allowed_upstreams", std::move(allowed)}}},
      {"providers", bjson::array{std::move(parsed)}}};
  auto config = load_config_text(bjson::serialize(document), "request body");
  if (!config) return unexpected(config_errors_answer(config.error(), "providers[0]"));
  if (config->providers.size() != 1)
    return unexpected(error_answer(invalid("the body must describe exactly one provider")));
  return std::move(config->providers.front());
}

}  // namespace

AdminAnswer test_saved_provider(AdminContext& context, const AdminRequest& request) {
  if (request.params.empty()) return error_answer(invalid("no provider named", "provider_not_found"));
  const std::string& name = request.params.front();
  auto state = context.state();
  const auto& providers = state->config.providers;
  auto it = std::find_if(providers.begin(), providers.end(), [&](const ProviderConfig& p) { return p.id == name; });
  if (it == providers.end()) {
    Error e = Error::make(ErrorKind::not_found, "provider '" + name + "' not found", {}, "provider_not_found");
    return error_answer(e);
  }
  return run_test(*it);
}

AdminAnswer test_unsaved_provider(AdminContext& context, const AdminRequest& request) {
  auto config = parse_unsaved(request.body);
  if (!config) return config.error();
  return run_test(*config);
}

}  // namespace llmux::admin
