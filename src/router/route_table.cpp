#include "router/route_table.hpp"

#include <algorithm>
#include <map>

#include "core/text.hpp"

namespace llmux::router {

namespace {

const ModelConfig* find_model(const ProviderConfig& config, std::string_view name) {
  for (const auto& m : config.models)
    if (m.id == name || std::find(m.aliases.begin(), m.aliases.end(), name) != m.aliases.end()) return &m;
  return nullptr;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Error bad_fallback(std::string message, std::string code = "invalid_fallbacks") {
  return Error::make(ErrorKind::invalid_request, std::move(message), "fallbacks", std::move(code));
}

}  // namespace

// --- Route -------------------------------------------------------------------------------------------

void Route::clear() noexcept {
  size_ = 0;
  chain_ = nullptr;
  requested_ = {};
  owned_.clear();
}

bool Route::push(const Deployment* d) noexcept {
  if (size_ == items_.size()) return false;
  for (size_t i = 0; i < size_; ++i)
    if (items_[i] == d || (items_[i]->provider == d->provider && items_[i]->upstream_model == d->upstream_model))
      return false;
  items_[size_++] = d;
  return true;
}

// --- table -------------------------------------------------------------------------------------------

const Deployment* RouteTable::make_deployment(const providers::Provider& p, const ModelConfig* m,
                                              std::string upstream, int priority, int weight) {
  auto d = std::make_unique<Deployment>();
  d->provider = &p;
  d->model = m;
  d->label = p.id() + "/" + (m ? m->id : upstream);
  d->upstream_model = std::move(upstream);
  d->priority = priority;
  d->weight = weight;
  d->resume_prefill = p.config().resume_prefill;
  // One slot per upstream target: the same provider and upstream model in two chains share a
  // breaker and its statistics.
  auto same_target = std::find_if(deployments_.begin(), deployments_.end(), [&](const auto& other) {
    return other->provider == &p && other->upstream_model == d->upstream_model;
  });
  if (same_target != deployments_.end()) {
    d->slot = (*same_target)->slot;
  } else {
    d->slot = static_cast<uint32_t>(slot_info_.size());
    slot_info_.push_back({d->label, &p, d->upstream_model});
  }
  deployments_.push_back(std::move(d));
  return deployments_.back().get();
}

const Deployment* RouteTable::listed_deployment(const ModelConfig* model) const {
  auto it = by_model_.find(model);
  return it == by_model_.end() ? nullptr : it->second;
}

RouteTable::RouteTable(const std::vector<std::unique_ptr<providers::Provider>>& providers,
                       const std::vector<ModelRouteConfig>& routes, BalanceStrategy default_strategy,
                       const ModelCatalog& catalog)
    : catalog_(catalog) {
  std::vector<const providers::Provider*> enabled;
  for (const auto& p : providers)
    if (p->config().enabled) enabled.push_back(p.get());
  std::stable_sort(enabled.begin(), enabled.end(),
                   [](auto* a, auto* b) { return a->config().priority < b->config().priority; });

  auto add_chain = [&](std::string name, std::vector<const Deployment*> deployments) {
    auto chain = std::make_unique<Chain>();
    chain->name = std::move(name);
    chain->deployments = std::move(deployments);
    chain->strategy = default_strategy;
    chains_.push_back(std::move(chain));
    return chains_.back().get();
  };

  // List style: every listed model is a deployment; "provider/model" names it alone, a bare id or
  // alias names every provider listing it, in provider priority order.
  std::map<std::string, std::vector<const Deployment*>> bare;
  std::vector<std::string> bare_order;
  for (const auto* p : enabled) {
    for (const auto& m : p->config().models) {
      const Deployment* d = make_deployment(*p, &m, m.upstream_id.empty() ? m.id : m.upstream_id,
                                            p->config().priority, 1);
      by_model_.emplace(&m, d);
      const Chain* alone = add_chain(p->id() + "/" + m.id, {d});
      by_name_.emplace(alone->name, alone);
      for (const auto& alias : m.aliases) by_name_.emplace(p->id() + "/" + alias, alone);
      auto add_bare = [&](const std::string& name) {
        auto& list = bare[name];
        if (list.empty()) bare_order.push_back(name);
        if (std::find(list.begin(), list.end(), d) == list.end()) list.push_back(d);
      };
      add_bare(m.id);
      for (const auto& alias : m.aliases) add_bare(alias);
    }
  }
  for (const auto& name : bare_order) {
    // "mistralai/Mixtral" where mistralai is a provider: the catalog reads it as that provider's
    // model, so the table must not answer it as a bare id.
    if (size_t slash = name.find('/'); slash != std::string::npos && catalog.provider(name.substr(0, slash))) continue;
    const Chain* chain = add_chain(name, bare[name]);
    by_name_.try_emplace(name, chain);
  }
  for (const auto* p : enabled) {
    const auto& config = p->config();
    if (config.default_model.empty()) continue;
    const Deployment* d = nullptr;
    if (config.models.empty()) d = make_deployment(*p, nullptr, config.default_model, config.priority, 1);
    else if (const ModelConfig* m = find_model(config, config.default_model)) d = listed_deployment(m);
    if (d) by_name_.try_emplace(p->id(), add_chain(p->id(), {d}));
  }
  for (const auto* p : enabled) {
    passthrough_slot_.emplace(p, static_cast<uint32_t>(slot_info_.size()));
    slot_info_.push_back({p->id() + "/*", p, "*"});
  }

  // models: explicit chains (or settings for the list-style chain of the same name).
  std::vector<std::pair<Chain*, const ModelRouteConfig*>> routed;
  for (const auto& r : routes) {
    std::vector<const Deployment*> deployments;
    for (const auto& dc : r.deployments) {
      const providers::Provider* p = catalog.provider(dc.provider);
      if (!p || !p->config().enabled) continue;  // validate_config reports unknown providers
      std::string_view model = dc.model.empty() ? std::string_view(p->config().default_model) : dc.model;
      const ModelConfig* m = find_model(p->config(), model);
      if (!m && !p->config().models.empty()) continue;
      deployments.push_back(make_deployment(*p, m, m ? (m->upstream_id.empty() ? m->id : m->upstream_id) : std::string(model),
                                            dc.priority, dc.weight));
      if (dc.resume_prefill) deployments_.back()->resume_prefill = *dc.resume_prefill;
    }
    std::stable_sort(deployments.begin(), deployments.end(),
                     [](auto* a, auto* b) { return a->priority < b->priority; });
    if (deployments.empty())
      if (const Chain* listed = find_chain(r.name)) deployments = listed->deployments;
    Chain* chain = add_chain(r.name, std::move(deployments));
    chain->strategy = r.strategy.value_or(default_strategy);
    chain->content_policy_fallback = r.content_policy_fallback;
    by_name_[r.name] = chain;
    for (const auto& alias : r.aliases) by_name_[alias] = chain;
    routed.emplace_back(chain, &r);
  }
  for (auto [chain, r] : routed) {
    for (const auto& name : r->context_fallbacks) {
      const Chain* target = find_chain(name);
      if (!target) continue;
      for (const Deployment* d : target->deployments)
        if (std::find(chain->context_fallbacks.begin(), chain->context_fallbacks.end(), d) ==
            chain->context_fallbacks.end())
          chain->context_fallbacks.push_back(d);
    }
  }
  slot_count_ = slot_info_.size();
}

const Chain* RouteTable::find_chain(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

Expected<const Chain*, Error> RouteTable::append(std::string_view name, std::string_view provider_header,
                                                 const DeploymentStats& stats, Random& random, Route& out) const {
  size_t begin = out.size_;
  if (provider_header.empty()) {
    if (const Chain* chain = find_chain(name); chain && !chain->deployments.empty()) {
      for (const Deployment* d : chain->deployments) out.push(d);
      order_chain({out.items_.data() + begin, out.size_ - begin}, chain->strategy, stats, random);
      return chain;
    }
  }
  auto resolved = catalog_.resolve(name, provider_header);
  if (!resolved) return unexpected(std::move(resolved).error());
  const Deployment* d = resolved->model ? listed_deployment(resolved->model) : nullptr;
  if (!d) {
    // A pass-through provider given a model it does not list: a deployment for this request.
    auto made = std::make_unique<Deployment>();
    made->provider = resolved->provider;
    made->model = resolved->model;
    made->label = resolved->provider->id() + "/" + resolved->upstream_model;
    made->upstream_model = std::move(resolved->upstream_model);
    made->resume_prefill = resolved->provider->config().resume_prefill;
    auto slot = passthrough_slot_.find(resolved->provider);
    made->slot = slot == passthrough_slot_.end() ? 0 : slot->second;
    d = made.get();
    out.owned_.push_back(std::move(made));
  }
  out.push(d);
  return static_cast<const Chain*>(nullptr);
}

Expected<void, Error> RouteTable::append_fallback(std::string_view name, const char* where,
                                                  const DeploymentStats& stats, Random& random, Route& out) const {
  if (name.empty()) return unexpected(bad_fallback(std::string("an empty fallback name (") + where + ")"));
  auto appended = append(name, {}, stats, random, out);
  if (!appended)
    return unexpected(bad_fallback("fallback '" + std::string(name) + "' (" + where + "): " + appended.error().message,
                                   "fallback_not_found"));
  return {};
}

Expected<void, Error> RouteTable::route(const RouteRequest& request, const DeploymentStats& stats, Random& random,
                                        Route& out) const {
  out.clear();
  out.requested_ = request.model;
  HeaderFallbacks header;
  if (!request.fallbacks_header.empty()) {
    auto parsed = parse_fallbacks_header(request.fallbacks_header);
    if (!parsed) return unexpected(std::move(parsed).error());
    header = *parsed;
  }
  auto chain = append(request.model, request.provider_header, stats, random, out);
  if (!chain) return unexpected(std::move(chain).error());
  out.chain_ = *chain;
  if (header.none) {
    out.size_ = std::min<size_t>(out.size_, 1);
    return {};
  }
  if (!request.fallbacks_header.empty()) {
    for (size_t i = 0; i < header.count; ++i)
      if (auto added = append_fallback(header.names[i], "x-llmux-fallbacks", stats, random, out); !added) return added;
    return {};
  }
  if (request.body_fallbacks.size() > kMaxRequestFallbacks)
    return unexpected(bad_fallback("'fallbacks' lists " + std::to_string(request.body_fallbacks.size()) +
                                   " models; at most " + std::to_string(kMaxRequestFallbacks) + " are allowed"));
  for (const auto& name : request.body_fallbacks)
    if (auto added = append_fallback(name, "fallbacks", stats, random, out); !added) return added;
  return {};
}

Expected<HeaderFallbacks, Error> parse_fallbacks_header(std::string_view value) {
  HeaderFallbacks out;
  if (iequals(trim(value), "none")) {
    out.none = true;
    return out;
  }
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view name = trim(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    if (name.empty()) continue;
    if (iequals(name, "none"))
      return unexpected(bad_fallback("x-llmux-fallbacks: 'none' cannot be combined with model names"));
    if (out.count == out.names.size())
      return unexpected(bad_fallback("x-llmux-fallbacks lists more than " + std::to_string(kMaxRequestFallbacks) +
                                     " models"));
    out.names[out.count++] = name;
  }
  return out;
}

}  // namespace llmux::router
