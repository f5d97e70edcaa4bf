#include "governance/usage_record.hpp"

#include "governance/prices.hpp"

namespace llmux::governance {

storage::UsageRow usage_row(const FinishedRequest& r) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  storage::UsageRow row;
  row.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  row.request_id = r.request_id;
  if (r.key) row.key_id = r.key->name;  // master_key, api_keys[N], or a virtual key's name
  row.provider = r.provider;
  if (!r.provider.empty()) {
    row.deployment = r.provider;
    row.deployment.append("/");
    row.deployment.append(r.model ? std::string_view(r.model->id) : r.upstream_model);
  }
  row.model_requested = r.model_requested;
  row.model_answered = r.upstream_model;
  // A request that got no answer from a provider costs nothing and estimates nothing.
  bool answered = !r.provider.empty() && r.status >= 200 && r.status < 300;
  if (answered || r.usage.reported) {
    static const ModelPrices kFree;
    json::Usage u = billable_usage(r.usage, r.estimate_basis);
    row.input_tokens = u.prompt_tokens;
    row.cached_tokens = u.cached_tokens;
    row.cache_write_tokens = u.cache_write_tokens;
    row.output_tokens = u.completion_tokens;
    row.reasoning_tokens = u.reasoning_tokens;
    row.cost_nano_usd = cost_nano_usd(u, r.model ? r.model->prices : kFree);
    row.estimated = !r.usage.reported;
  }
  row.latency_us = duration_cast<microseconds>(r.latency).count();
  if (r.first_token) row.ttft_us = duration_cast<microseconds>(*r.first_token).count();
  row.status = r.status;
  row.error_type = r.error_type;
  row.attempts = r.attempts;
  return row;
}

void append_cost_header(std::string& headers, const Cost& cost) {
  headers += "x-llmux-cost-usd: ";
  append_usd_nanos(headers, cost.nano_usd);
  headers += cost.estimated ? "\r\nx-llmux-cost-estimated: true\r\n" : "\r\n";
}

}  // namespace llmux::governance
