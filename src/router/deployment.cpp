#include "router/deployment.hpp"

namespace llmux::router {

void DeploymentStats::record_first_token(uint32_t slot, std::chrono::microseconds ttft) noexcept {
  auto& cell = at(slot).ttft_us;
  int64_t sample = ttft.count() > 0 ? ttft.count() : 1;  // 0 means "no sample"
  int64_t old = cell.load(std::memory_order_relaxed);
  // Load-compute-store rather than a CAS loop: a racing update may be lost, never torn.
  cell.store(old == 0 ? sample : old + (sample - old) / 8, std::memory_order_relaxed);
}

}  // namespace llmux::router
