// Shared fixtures for the router tests: providers built from configs, a scripted random source.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "providers/provider.hpp"
#include "router/balancer.hpp"
#include "router/clock.hpp"

namespace llmux::router::test {

inline ProviderConfig provider(std::string id, std::vector<std::string> models, int priority = 0) {
  ProviderConfig p;
  p.id = std::move(id);
  p.base_url = "http://127.0.0.1:9/v1";
  p.priority = priority;
  for (auto& m : models) p.models.push_back({.id = m, .upstream_id = m});
  if (!p.models.empty()) p.default_model = p.models.front().id;
  return p;
}

inline std::vector<std::unique_ptr<providers::Provider>> make(std::vector<ProviderConfig> configs) {
  std::vector<std::unique_ptr<providers::Provider>> out;
  for (auto& c : configs) out.push_back(std::move(providers::make_provider(c).value()));
  return out;
}

// Returns the scripted fractions of [0, 1) in order, then 0.5 forever.
class ScriptedRandom final : public Random {
 public:
  explicit ScriptedRandom(std::vector<double> fractions = {}) : fractions_(fractions.begin(), fractions.end()) {}
  uint64_t next() noexcept override {
    double f = 0.5;
    if (!fractions_.empty()) {
      f = fractions_.front();
      fractions_.pop_front();
    }
    return static_cast<uint64_t>(f * 0x1.0p53) << 11;
  }

 private:
  std::deque<double> fractions_;
};

// A fixed point in time both clocks agree on, moved by tests.
inline Instant epoch() {
  return {SteadyTime(std::chrono::hours(1000)), WallTime(std::chrono::seconds(1'700'000'000))};
}

}  // namespace llmux::router::test
