// Time as the router sees it. Every router decision takes the current time as an argument instead
// of reading a clock, so tests drive time explicitly and a decision is a pure function of its
// inputs.
//
// Thread-safety: plain values.
#pragma once

#include <chrono>

namespace llmux::router {

using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

struct Instant {
  SteadyTime steady;  // for waits, windows and deadlines
  WallTime wall;      // only for Retry-After HTTP dates and times shown to people

  static Instant now() noexcept { return {SteadyClock::now(), std::chrono::system_clock::now()}; }
  Instant operator+(SteadyClock::duration d) const noexcept { return {steady + d, wall + std::chrono::duration_cast<WallTime::duration>(d)}; }
};

}  // namespace llmux::router
