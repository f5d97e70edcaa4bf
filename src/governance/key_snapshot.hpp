// Virtual keys on the request path: the key format, its hash, and the immutable snapshot of every
// stored key that a request is checked against without a lock or a database read.
//
// A virtual key is "llmux-sk-" followed by 43 base64url characters (32 bytes from RAND_bytes).
// Only its SHA-256 is stored; the key itself is printed once, by `llmux keys create`.
//
// Publishing: the refresher (off the request path) builds a new KeySnapshot when the store
// changes and publishes it in a KeySnapshots. Each worker thread reads through its own
// KeySnapshotReader, which costs one atomic load per request and takes the publisher's mutex only
// on the first read after a publish (once per worker per change).
//
// Thread-safety: KeySnapshot is immutable, shared by any number of threads. KeySnapshots'
// methods may be called from any thread. A KeySnapshotReader belongs to one thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "governance/key_policy.hpp"
#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "llmux/expected.hpp"

namespace llmux::governance {

inline constexpr std::string_view kVirtualKeyPrefix = "llmux-sk-";
// What `keys list` shows of a key: the prefix and the first characters of its random part.
inline constexpr size_t kDisplayPrefixLength = kVirtualKeyPrefix.size() + 6;

using KeyHash = std::array<unsigned char, 32>;

// SHA-256 of the key; allocates nothing.
KeyHash hash_key(std::string_view key) noexcept;
std::string hash_hex(const KeyHash& hash);
// A new random key (RAND_bytes); empty when the random generator fails.
std::string generate_virtual_key();
inline bool is_virtual_key(std::string_view key) noexcept { return key.starts_with(kVirtualKeyPrefix); }
inline std::string display_prefix(std::string_view key) { return std::string(key.substr(0, kDisplayPrefixLength)); }

struct KeyHashHasher {
  size_t operator()(const KeyHash& h) const noexcept {
    size_t v;  // the hash is uniformly random already: its first bytes are a fine bucket index
    std::memcpy(&v, h.data(), sizeof v);
    return v;
  }
};

class KeySnapshot {
 public:
  using Map = std::unordered_map<KeyHash, std::shared_ptr<const KeyPolicy>, KeyHashHasher>;
  KeySnapshot() = default;
  explicit KeySnapshot(Map keys) : keys_(std::move(keys)) {}

  // The key's policy, or null when no stored key has this hash.
  const std::shared_ptr<const KeyPolicy>* find(const KeyHash& hash) const noexcept {
    auto it = keys_.find(hash);
    return it == keys_.end() ? nullptr : &it->second;
  }
  // Stored keys, revoked and expired ones included.
  size_t size() const noexcept { return keys_.size(); }

 private:
  Map keys_;
};

// The policy of a presented virtual key, or the 401 to answer: invalid_api_key (no such key),
// revoked_api_key, expired_api_key (at or after expires_at_ms).
Expected<std::shared_ptr<const KeyPolicy>, Error> check_virtual_key(const KeySnapshot& snapshot, std::string_view key,
                                                                   int64_t now_ms);

// Whether the key may ask for `model`: its list is empty (all models), names it exactly, or names
// it without its provider ("gpt-4o" allows "openai/gpt-4o"; "openai/gpt-4o" allows only itself).
bool model_allowed(const KeyPolicy& policy, std::string_view model) noexcept;
// The 403 model_not_allowed for `model`.
Error model_not_allowed(const KeyPolicy& policy, std::string_view model);

class KeySnapshots {
 public:
  KeySnapshots() : current_(std::make_shared<const KeySnapshot>()) {}
  void publish(std::shared_ptr<const KeySnapshot> snapshot) {
    std::lock_guard lock(mutex_);
    current_ = std::move(snapshot);
    version_.fetch_add(1, std::memory_order_release);
  }
  std::shared_ptr<const KeySnapshot> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;  // held only to copy or replace current_, never across I/O
  std::shared_ptr<const KeySnapshot> current_;
  std::atomic<uint64_t> version_{1};
};

class KeySnapshotReader {
 public:
  const KeySnapshot& get(const KeySnapshots& snapshots) {
    uint64_t v = snapshots.version();
    if (v != version_) {
      snapshot_ = snapshots.current();
      version_ = v;
    }
    return *snapshot_;
  }

 private:
  std::shared_ptr<const KeySnapshot> snapshot_;
  uint64_t version_ = 0;
};


int64_t unix_now_ms() noexcept;

}  // namespace llmux::governance
