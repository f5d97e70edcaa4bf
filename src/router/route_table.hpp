// Which deployments a request may go to, in order: the route. Built once per config snapshot from
// the providers' model lists (providers listing the same model id form one chain, ordered by
// their `priority`) and the top-level `models:` section (explicit chains across providers and
// upstream ids), then extended per request by `fallbacks` in the body or `x-llmux-fallbacks`.
//
// Resolution of a single name keeps ModelCatalog's rules (README "Choosing the provider and
// model"); a name that used to resolve to one provider now resolves to that provider first and
// the other providers listing the same model after it.
//
// Thread-safety: a RouteTable is immutable after construction; route() may be called from any
// thread. A Route belongs to one request (one thread).
#pragma once

#include <array>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "llmux/expected.hpp"
#include "router/balancer.hpp"
#include "router/deployment.hpp"
#include "router/model_catalog.hpp"

namespace llmux::router {

inline constexpr size_t kMaxRouteLength = 16;  // longer chains are cut (the rest is never reached
                                               // within router.max_attempts anyway)
inline constexpr size_t kMaxRequestFallbacks = 8;

// A named chain: what one model name resolves to before per-request fallbacks.
struct Chain {
  std::string name;
  std::vector<const Deployment*> deployments;  // sorted by priority (stable)
  BalanceStrategy strategy = BalanceStrategy::priority;
  std::vector<const Deployment*> context_fallbacks;  // tried first after context_length_exceeded
  bool content_policy_fallback = false;
};

class Route {
 public:
  Route() = default;
  Route(const Route&) = delete;
  Route& operator=(const Route&) = delete;
  Route(Route&&) = default;
  Route& operator=(Route&&) = default;

  std::span<const Deployment* const> deployments() const noexcept { return {items_.data(), size_}; }
  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const Deployment& operator[](size_t i) const noexcept { return *items_[i]; }
  // The chain the requested model resolved to (settings: context fallbacks, content policy).
  const Chain* chain() const noexcept { return chain_; }
  std::string_view requested() const noexcept { return requested_; }

  void clear() noexcept;
  // Appends unless full or already present (same provider and upstream model). False if not added.
  bool push(const Deployment* deployment) noexcept;
  // Reorders the untried tail [from, size): the planner's context fallback uses it.
  std::span<const Deployment*> tail(size_t from) noexcept { return {items_.data() + from, size_ - from}; }

 private:
  friend class RouteTable;
  std::array<const Deployment*, kMaxRouteLength> items_{};
  size_t size_ = 0;
  const Chain* chain_ = nullptr;
  std::string_view requested_;
  // Deployments made for this request: a pass-through provider given a model it does not list.
  std::vector<std::unique_ptr<Deployment>> owned_;
};

// What the exchange knows about the request when it asks for its route.
struct RouteRequest {
  std::string_view model;             // the body's "model" (may be empty with provider_header)
  std::string_view provider_header;   // x-llmux-provider
  std::string_view fallbacks_header;  // x-llmux-fallbacks as received; empty = absent
  std::span<const std::string> body_fallbacks;  // the body's "fallbacks" (json::read_fallbacks)
};

class RouteTable {
 public:
  // Providers and the catalog are borrowed and must outlive the table (all live in one snapshot).
  RouteTable(const std::vector<std::unique_ptr<providers::Provider>>& providers,
             const std::vector<ModelRouteConfig>& routes, BalanceStrategy default_strategy,
             const ModelCatalog& catalog);

  // Fills `out` (cleared first): the requested model's chain with each priority group ordered
  // by its strategy, then the per-request fallbacks, each resolved the same way. Errors: the
  // catalog's for the requested model (404 unknown, 400 provider without default model, ...),
  // 400 for an unknown or excess fallback. No allocation for a configured name without
  // per-request fallbacks.
  Expected<void, Error> route(const RouteRequest& request, const DeploymentStats& stats, Random& random,
                              Route& out) const;

  // Slots for BreakerStore and DeploymentStats: one per deployment plus one per provider (shared
  // by the deployments made for requests to a pass-through provider).
  size_t slot_count() const noexcept { return slot_count_; }
  // What each slot is, for health and status pages: "provider/model" and its provider.
  struct SlotInfo {
    std::string label;
    const providers::Provider* provider = nullptr;
    std::string upstream_model;  // "*" for a pass-through provider's shared slot
  };
  const std::vector<SlotInfo>& slots() const noexcept { return slot_info_; }
  const Chain* find_chain(std::string_view name) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  const Deployment* make_deployment(const providers::Provider& p, const ModelConfig* m, std::string upstream,
                                    int priority, int weight);
  const Deployment* listed_deployment(const ModelConfig* model) const;
  // Appends what `name` resolves to (its chain, balanced), or the error.
  Expected<const Chain*, Error> append(std::string_view name, std::string_view provider_header,
                                       const DeploymentStats& stats, Random& random, Route& out) const;
  Expected<void, Error> append_fallback(std::string_view name, const char* where, const DeploymentStats& stats,
                                        Random& random, Route& out) const;

  const ModelCatalog& catalog_;
  std::vector<std::unique_ptr<Deployment>> deployments_;
  std::vector<std::unique_ptr<Chain>> chains_;
  std::unordered_map<std::string, const Chain*, Hash, std::equal_to<>> by_name_;
  std::unordered_map<const ModelConfig*, const Deployment*> by_model_;
  std::unordered_map<const providers::Provider*, uint32_t> passthrough_slot_;
  std::vector<SlotInfo> slot_info_;
  size_t slot_count_ = 0;
};

// Splits an x-llmux-fallbacks value ("b/claude-sonnet-4-5, local-llama") into names; `none`
// (alone, any case) sets `none`. Empty entries are skipped. More than kMaxRequestFallbacks names
// is an error.
struct HeaderFallbacks {
  bool none = false;
  std::array<std::string_view, kMaxRequestFallbacks> names{};
  size_t count = 0;
};
Expected<HeaderFallbacks, Error> parse_fallbacks_header(std::string_view value);

}  // namespace llmux::router
