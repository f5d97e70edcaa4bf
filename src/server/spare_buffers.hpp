// Output buffers lent to whichever connection has bytes to queue, and given back once those bytes
// are written: memory follows what is in flight, not how many connections are open (issue 12:
// an open stream waiting for its next event holds no output buffer). A buffer's storage is reused,
// never its bytes: give() keeps only buffers that have been emptied.
//
// Thread-safety: one set of spares per thread. A connection is served on one worker thread only,
// so it takes and gives on that thread.
#pragma once

#include <string>
#include <vector>

namespace llmux::server::spare_buffers {

inline constexpr size_t kMaxSpares = 32;
inline constexpr size_t kMaxKeptCapacity = 64 * 1024;  // a larger buffer is freed, not kept
// The once-a-second sweep of open streams (Connection::release_idle_memory and the exchange's
// scratch) frees an empty buffer's capacity above this: a slow stream holds what is in flight.
inline constexpr size_t kIdleKeep = 64;

inline std::vector<std::string>& spares() {
  thread_local std::vector<std::string> list;
  return list;
}

// Gives `s` (empty, without storage of its own) a spare buffer's storage when there is one.
inline void take(std::string& s) {
  auto& list = spares();
  if (list.empty() || !s.empty() || s.capacity() > std::string().capacity()) return;
  s.swap(list.back());
  list.pop_back();
}

// Takes an emptied buffer's storage back; `s` is left without storage.
inline void give(std::string& s) {
  if (!s.empty() || s.capacity() <= std::string().capacity()) return;
  auto& list = spares();
  if (s.capacity() <= kMaxKeptCapacity && list.size() < kMaxSpares) {
    list.emplace_back();
    list.back().swap(s);
  } else {
    std::string().swap(s);
  }
}

}  // namespace llmux::server::spare_buffers
