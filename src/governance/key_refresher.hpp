// Keeps the gateway's virtual key snapshot in step with the key store, off the request path.
//
// The CLI changes keys from another process, so the gateway polls the store's generation counter
// every kKeyPollInterval on the server's main io_context (never a worker's) and rebuilds the
// snapshot when it moved; SIGHUP polls at once. A change reaches requests within one interval
// plus the time to read the keys (a few ms for thousands of keys): the propagation delay the
// README states. When the store cannot be read the previous snapshot stays and the failure is
// logged once until a read succeeds again.
//
// Thread-safety: VirtualKeys::snapshots() may be read from any thread; refresh() is called by one
// thread at a time (the main io_context, or before the server runs). KeyRefresher lives on its
// io_context's thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "governance/key_snapshot.hpp"
#include "storage/key_store.hpp"

namespace llmux::governance {

inline constexpr std::chrono::milliseconds kKeyPollInterval{250};
// The stated bound on how long a change takes to reach requests: one poll plus the read, with
// room for a loaded machine (the CLI prints it; the lifecycle test holds the gateway to it).
inline constexpr int64_t kKeyPropagationMs = 1000;

// The policy a stored key grants; its name is the ledger's key column.
std::shared_ptr<const KeyPolicy> policy_of(const storage::StoredKey& key);
// Keys whose hash is not 64 hex digits are left out.
std::shared_ptr<const KeySnapshot> build_key_snapshot(const std::vector<storage::StoredKey>& keys);
// The record of a new key `key` named `name` with the settings of `changes` (unset: none), as
// `llmux keys create` and POST /api/keys store it: hash and display prefix, never the key.
storage::StoredKey new_stored_key(std::string name, std::string_view key, const storage::KeyChanges& changes,
                                  int64_t now_ms);

class VirtualKeys {
 public:
  explicit VirtualKeys(std::shared_ptr<storage::KeyStore> store) : store_(std::move(store)) {}
  // Rereads the keys when the store's generation moved (or on the first call) and publishes them;
  // returns whether it published, or the store's error (the previous snapshot stays).
  Expected<bool, std::string> refresh();
  const KeySnapshots& snapshots() const noexcept { return snapshots_; }

 private:
  std::shared_ptr<storage::KeyStore> store_;
  KeySnapshots snapshots_;
  std::optional<int64_t> generation_;
};

class KeyRefresher {
 public:
  KeyRefresher(boost::asio::io_context& io, std::shared_ptr<VirtualKeys> keys,
               std::chrono::milliseconds interval = kKeyPollInterval);
  void start();
  void refresh_now();

 private:
  void schedule();

  std::shared_ptr<VirtualKeys> keys_;
  boost::asio::steady_timer timer_;
  std::chrono::milliseconds interval_;
  bool failing_ = false;
};

}  // namespace llmux::governance
