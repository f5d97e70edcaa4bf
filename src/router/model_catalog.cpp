#include "router/model_catalog.hpp"

#include <algorithm>
#include "core/text.hpp"

namespace llmux::router {

namespace {

Error not_found(std::string message, std::string code = "model_not_found") {
  return Error::make(ErrorKind::not_found, std::move(message), "model", std::move(code));
}

// "model": "PROVIDER" for a provider without a default model: a model was given, it just names a
// provider; say how to name one of its models.
Error provider_named_as_model(const providers::Provider& p) {
  const auto& models = p.config().models;
  std::string message = "'" + p.id() + "' is a provider, not a model, and it has no default_model: ";
  if (models.empty()) {
    message += "name the model as " + p.id() + "/MODEL (it passes any model name through)";
  } else {
    message += "name one of its models, e.g. ";
    constexpr size_t kShown = 3;
    for (size_t i = 0; i < models.size() && i < kShown; ++i) message += (i ? ", " : "") + p.id() + "/" + models[i].id;
    if (models.size() > kShown) message += " (" + std::to_string(models.size()) + " in all, see GET /v1/models)";
  }
  return Error::make(ErrorKind::invalid_request, std::move(message), "model", "model_required");
}

}  // namespace

ModelCatalog::ModelCatalog(const std::vector<std::unique_ptr<providers::Provider>>& providers) {
  std::vector<const providers::Provider*> enabled;
  for (const auto& p : providers) {
    by_id_[p->id()] = p.get();
    if (p->config().enabled) enabled.push_back(p.get());
  }
  std::stable_sort(enabled.begin(), enabled.end(), [](auto* a, auto* b) {
    return a->config().priority < b->config().priority;
  });
  for (const auto* p : enabled) {
    names_.push_back(p->id());
    for (const auto& m : p->config().models) {
      std::string upstream = m.upstream_id.empty() ? m.id : m.upstream_id;
      listed_.push_back({p->id() + "/" + m.id, p->id(), &m});
      names_.push_back(p->id() + "/" + m.id);
      // First (highest-priority) provider to list a bare name serves it.
      by_model_.try_emplace(m.id, Resolution{p, &m, upstream});
      names_.push_back(m.id);
      for (const auto& alias : m.aliases) {
        by_model_.try_emplace(alias, Resolution{p, &m, upstream});
        names_.push_back(alias);
      }
    }
  }
  std::sort(names_.begin(), names_.end());
  names_.erase(std::unique(names_.begin(), names_.end()), names_.end());
  for (const auto& n : names_) lower_names_.push_back(to_lower(n));
}

const providers::Provider* ModelCatalog::provider(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

const ListedModel* ModelCatalog::find_listed(std::string_view id) const {
  for (const auto& m : listed_)
    if (m.id == id) return &m;
  // A bare id or alias resolves to the listing of the provider that serves it.
  auto it = by_model_.find(id);
  if (it == by_model_.end()) return nullptr;
  for (const auto& m : listed_)
    if (m.model == it->second.model) return &m;
  return nullptr;
}

Expected<Resolution, Error> ModelCatalog::resolve_in(const providers::Provider& p,
                                                     std::string_view model) const {
  const auto& config = p.config();
  if (!config.enabled)
    return unexpected(Error::make(ErrorKind::not_found, "provider '" + p.id() + "' is disabled",
                                  "model", "provider_disabled"));
  if (model.empty()) model = config.default_model;
  if (model.empty())
    return unexpected(Error::make(ErrorKind::invalid_request,
                                  "no model given and provider '" + p.id() + "' has no default_model",
                                  "model", "model_required"));
  if (config.models.empty()) return Resolution{&p, nullptr, std::string(model)};
  for (const auto& m : config.models) {
    bool hit = m.id == model || std::find(m.aliases.begin(), m.aliases.end(), model) != m.aliases.end();
    if (hit) return Resolution{&p, &m, m.upstream_id.empty() ? m.id : m.upstream_id};
  }
  std::string known;
  for (const auto& m : config.models) known += (known.empty() ? "" : ", ") + m.id;
  return unexpected(not_found("model '" + std::string(model) + "' is not served by provider '" +
                              p.id() + "' (its models: " + known + ")"));
}

Expected<Resolution, Error> ModelCatalog::resolve(std::string_view requested,
                                                  std::string_view provider_header) const {
  if (!provider_header.empty()) {
    const auto* p = provider(provider_header);
    if (!p) {
      // Only the providers a client can use: a disabled provider's id is nobody's business.
      std::vector<std::string_view> enabled;
      for (const auto& [id, p] : by_id_)
        if (p->config().enabled) enabled.push_back(id);
      std::sort(enabled.begin(), enabled.end());
      std::string known;
      for (auto id : enabled) known += (known.empty() ? "" : ", ") + std::string(id);
      return unexpected(Error::make(ErrorKind::not_found,
                                    "provider '" + std::string(provider_header) + "' (x-llmux-provider) is not configured" +
                                        (known.empty() ? std::string("; no providers are enabled") : "; known: " + known),
                                    {}, "provider_not_found"));
    }
    std::string_view model = requested;
    if (model.size() > p->id().size() && model.substr(0, p->id().size()) == p->id() &&
        model[p->id().size()] == '/')
      model.remove_prefix(p->id().size() + 1);
    return resolve_in(*p, model);
  }
  if (requested.empty())
    return unexpected(Error::make(ErrorKind::invalid_request, "'model' is required", "model",
                                  "model_required"));
  // "provider/model": split at the first '/' only when the prefix names a provider, so
  // "together/mistralai/Mixtral-8x7B" works and "mistralai/Mixtral" stays a bare id.
  if (size_t slash = requested.find('/'); slash != std::string_view::npos) {
    if (const auto* p = provider(requested.substr(0, slash)))
      return resolve_in(*p, requested.substr(slash + 1));
  }
  if (auto it = by_model_.find(requested); it != by_model_.end()) return it->second;
  if (const auto* p = provider(requested)) {
    auto resolved = resolve_in(*p, {});
    if (!resolved && resolved.error().code == "model_required") return unexpected(provider_named_as_model(*p));
    return resolved;
  }

  std::string message = "model '" + std::string(requested) + "' not found";
  auto suggestions = close_matches(requested);
  if (!suggestions.empty()) {
    message += "; did you mean: ";
    for (size_t i = 0; i < suggestions.size(); ++i) message += (i ? ", " : "") + suggestions[i];
  } else if (names_.empty()) {
    message += "; no providers are configured";
  }
  return unexpected(not_found(std::move(message)));
}

std::vector<std::string> ModelCatalog::close_matches(std::string_view name, size_t limit) const {
  std::vector<std::string> out;
  if (name.empty() || name.size() > 128) return out;
  std::string wanted = to_lower(name);
  std::vector<std::pair<size_t, size_t>> scored;  // (score, index into names_)
  for (size_t i = 0; i < lower_names_.size(); ++i) {
    const std::string& candidate = lower_names_[i];
    bool contains = wanted.size() >= 3 && candidate.size() >= 3 &&
                    (candidate.find(wanted) != std::string::npos || wanted.find(candidate) != std::string::npos);
    size_t threshold = std::max<size_t>(2, std::min(wanted.size(), candidate.size()) / 3);
    size_t length_gap = wanted.size() > candidate.size() ? wanted.size() - candidate.size() : candidate.size() - wanted.size();
    if (contains) {
      scored.emplace_back(std::min(edit_distance(wanted, candidate), size_t{1}), i);
    } else if (length_gap <= threshold) {  // the distance is at least the length gap
      size_t d = edit_distance(wanted, candidate);
      if (d <= threshold) scored.emplace_back(d, i);
    }
  }
  std::sort(scored.begin(), scored.end());
  for (const auto& [score, index] : scored) {
    if (out.size() == limit) break;
    out.push_back(names_[index]);
  }
  return out;
}

}  // namespace llmux::router
