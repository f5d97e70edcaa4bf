// Maps what a client asks for ("provider/model", a bare model id or alias, a provider id, or an
// x-llmux-provider header) to a provider and the upstream model id. Built once from a config
// snapshot and immutable afterwards: safe to use from any thread without locking.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "llmux/expected.hpp"
#include "providers/provider.hpp"

namespace llmux::router {

struct Resolution {
  const providers::Provider* provider = nullptr;
  const ModelConfig* model = nullptr;  // null when the provider lists no models (pass-through)
  std::string upstream_model;
};

struct ListedModel {
  std::string id;        // as clients address it: "provider/model"
  std::string owned_by;  // provider id
  const ModelConfig* model = nullptr;
};

class ModelCatalog {
 public:
  // Providers are borrowed; they must outlive the catalog.
  explicit ModelCatalog(const std::vector<std::unique_ptr<providers::Provider>>& providers);

  // `requested` may be empty when a provider header or default model supplies it.
  Expected<Resolution, Error> resolve(std::string_view requested, std::string_view provider_header) const;

  // Configured models of all enabled providers, in priority order.
  const std::vector<ListedModel>& models() const noexcept { return listed_; }
  const ListedModel* find_listed(std::string_view id) const;

  // Up to `limit` known names close to `name` (edit distance, prefix or substring). Names longer
  // than 128 characters get none: the cost grows with length and clients control it.
  std::vector<std::string> close_matches(std::string_view name, size_t limit = 5) const;

  const providers::Provider* provider(std::string_view id) const;

 private:
  Expected<Resolution, Error> resolve_in(const providers::Provider& provider, std::string_view model) const;

  // Transparent hashing: lookups by string_view allocate nothing.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using Map = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

  Map<const providers::Provider*> by_id_;  // all providers
  Map<Resolution> by_model_;               // bare id/alias -> best provider
  std::vector<ListedModel> listed_;
  std::vector<std::string> names_;        // every addressable name, for suggestions
  std::vector<std::string> lower_names_;  // the same, lower-cased once
};

}  // namespace llmux::router
