// The virtual key store: what `llmux keys` creates and edits and what the gateway checks requests
// against (through a snapshot, never on the request path; see governance/key_snapshot.hpp).
// A key is stored as its SHA-256 only, with a short non-secret prefix for display.
//
// KeyStore is the interface; the embedded default is SQLite (open_sqlite_key_store), in its own
// file keys.db in the state dir, apart from the usage ledger: the ledger's writer commits a batch
// every 100 ms under load, which would hold SQLite's one write lock against `keys create` and
// would change the file on every batch, while the gateway wants to reread keys only when keys
// change. A later issue adds PostgreSQL behind the same interface.
//
// Every change bumps a generation counter in the same transaction; the gateway polls
// generation() and rereads the keys only when it moved.
//
// Thread-safety: every method may be called from any thread at once (one connection, serialised
// by a mutex). Several processes may use one file (SQLite's locking, WAL, 5 s busy timeout).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "governance/key_policy.hpp"
#include "llmux/expected.hpp"

namespace llmux::storage {

struct StoredKey {
  std::string id;       // "vk_" + 16 hex digits, random, never secret
  std::string name;     // unique among keys not revoked
  std::string prefix;   // the key's first characters, e.g. "llmux-sk-AbC12x"
  std::string hash;     // SHA-256 of the key, 64 hex digits
  governance::RateLimits limits;   // rpm and tpm are stored; the rest stay 0
  governance::BudgetLimits budget; // daily and monthly caps
  std::vector<std::string> models; // empty = every model
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // 0 = never
  int64_t revoked_ms = 0;  // 0 = not revoked
};

// A field left unset is not changed.
struct KeyChanges {
  std::optional<uint32_t> rpm, tpm;
  std::optional<int64_t> daily_micro_usd, monthly_micro_usd;
  std::optional<std::vector<std::string>> models;
  std::optional<int64_t> expires_ms;
};

struct KeyStoreError {
  enum class Kind { not_found, conflict, failed } kind = Kind::failed;
  std::string message;
};

template <class T>
using KeyResult = Expected<T, KeyStoreError>;

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // Stores `key` (id and created_ms are filled in); conflict when an unrevoked key has its name.
  virtual KeyResult<StoredKey> create(StoredKey key) = 0;
  virtual KeyResult<std::vector<StoredKey>> list() = 0;
  // By id, else by the name of a key not revoked, else by the name of the newest revoked one.
  virtual KeyResult<StoredKey> find(const std::string& id_or_name) = 0;
  virtual KeyResult<StoredKey> update(const std::string& id_or_name, const KeyChanges& changes) = 0;
  // Revoking a revoked key changes nothing and is not an error.
  virtual KeyResult<StoredKey> revoke(const std::string& id_or_name, int64_t now_ms) = 0;
  // Moves on every change by any process.
  virtual KeyResult<int64_t> generation() = 0;
};

KeyResult<std::unique_ptr<KeyStore>> open_sqlite_key_store(const std::string& path);

// The key store file inside a state directory.
std::string key_store_path(const std::string& state_dir);

}  // namespace llmux::storage
