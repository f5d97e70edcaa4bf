#include "storage/key_store.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace llmux::storage {
namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS virtual_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  rpm INTEGER NOT NULL,
  tpm INTEGER NOT NULL,
  budget_daily_micro_usd INTEGER NOT NULL,
  budget_monthly_micro_usd INTEGER NOT NULL,
  models TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  revoked_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS virtual_keys_active_name ON virtual_keys(name) WHERE revoked_ms = 0;
CREATE TABLE IF NOT EXISTS key_store_generation (one INTEGER PRIMARY KEY CHECK (one = 1), generation INTEGER NOT NULL);
INSERT OR IGNORE INTO key_store_generation VALUES (1, 0);
)";

constexpr const char* kColumns =
    "id, name, prefix, hash, rpm, tpm, budget_daily_micro_usd, budget_monthly_micro_usd, models, created_ms, "
    "expires_ms, revoked_ms";

// Model ids are one line each; `keys` refuses ids with a newline.
std::string join_models(const std::vector<std::string>& models) {
  std::string out;
  for (const auto& m : models) out += (out.empty() ? "" : "\n") + m;
  return out;
}

std::vector<std::string> split_models(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::string random_id() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string id = "vk_";
  for (unsigned char b : bytes) {
    id += kDigits[b >> 4];
    id += kDigits[b & 0xf];
  }
  return id;
}

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) { ok_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) == SQLITE_OK; }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return ok_; }
  sqlite3_stmt* get() const { return stmt_; }
  void bind(int i, const std::string& text) { sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT); }
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  bool ok_ = false;
};

// Parameters 1-6: what `keys update` may change.
void bind_settings(Statement& st, const StoredKey& key) {
  st.bind(1, int64_t{key.limits.rpm});
  st.bind(2, int64_t{key.limits.tpm});
  st.bind(3, key.budget.daily_micro_usd);
  st.bind(4, key.budget.monthly_micro_usd);
  st.bind(5, join_models(key.models));
  st.bind(6, key.expires_ms);
}

std::string column_text(sqlite3_stmt* st, int i) {
  const auto* text = sqlite3_column_text(st, i);
  return text ? std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(st, i)))
              : std::string();
}

StoredKey read_key(sqlite3_stmt* st) {
  StoredKey k;
  k.id = column_text(st, 0);
  k.name = column_text(st, 1);
  k.prefix = column_text(st, 2);
  k.hash = column_text(st, 3);
  k.limits.rpm = static_cast<uint32_t>(sqlite3_column_int64(st, 4));
  k.limits.tpm = static_cast<uint32_t>(sqlite3_column_int64(st, 5));
  k.budget.daily_micro_usd = sqlite3_column_int64(st, 6);
  k.budget.monthly_micro_usd = sqlite3_column_int64(st, 7);
  k.models = split_models(column_text(st, 8));
  k.created_ms = sqlite3_column_int64(st, 9);
  k.expires_ms = sqlite3_column_int64(st, 10);
  k.revoked_ms = sqlite3_column_int64(st, 11);
  return k;
}

class SqliteKeyStore final : public KeyStore {
 public:
  explicit SqliteKeyStore(std::string path) : path_(std::move(path)) {}
  ~SqliteKeyStore() override { sqlite3_close_v2(db_); }

  KeyResult<void> open() {
    // Created 0600 before SQLite opens it: it holds key hashes and budgets.
    int fd = ::open(path_.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return unexpected(KeyStoreError{KeyStoreError::Kind::failed,
                                                "cannot open the key store " + path_ + ": " + std::strerror(errno)});
    ::close(fd);
    if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK)
      return unexpected(failure("cannot open the key store"));
    sqlite3_busy_timeout(db_, 5000);
    for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", kSchema})
      if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
        return unexpected(failure("cannot prepare the key store"));
    return {};
  }

  KeyResult<StoredKey> create(StoredKey key) override {
    std::lock_guard lock(mutex_);
    key.id = random_id();
    if (key.id.empty()) return unexpected(KeyStoreError{KeyStoreError::Kind::failed, "the random generator failed"});
    auto done = write([&]() -> KeyResult<void> {
      Statement st(db_,
                   "INSERT INTO virtual_keys (rpm, tpm, budget_daily_micro_usd, budget_monthly_micro_usd, models, "
                   "expires_ms, id, name, prefix, hash, created_ms, revoked_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,0)");
      if (!st.ok()) return unexpected(failure("cannot store the key"));
      bind_settings(st, key);
      st.bind(7, key.id);
      st.bind(8, key.name);
      st.bind(9, key.prefix);
      st.bind(10, key.hash);
      st.bind(11, key.created_ms);
      int rc = sqlite3_step(st.get());
      if (rc == SQLITE_CONSTRAINT)
        return unexpected(KeyStoreError{KeyStoreError::Kind::conflict,
                                        "a key named '" + key.name + "' exists (revoke it first, or pick another name)"});
      if (rc != SQLITE_DONE) return unexpected(failure("cannot store the key"));
      return {};
    });
    if (!done) return unexpected(done.error());
    return key;
  }

  KeyResult<std::vector<StoredKey>> list() override {
    std::lock_guard lock(mutex_);
    Statement st(db_, std::string("SELECT ") + kColumns + " FROM virtual_keys ORDER BY created_ms, id");
    if (!st.ok()) return unexpected(failure("cannot read the key store"));
    std::vector<StoredKey> keys;
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) keys.push_back(read_key(st.get()));
    if (rc != SQLITE_DONE) return unexpected(failure("cannot read the key store"));
    return keys;
  }

  KeyResult<StoredKey> find(const std::string& id_or_name) override {
    std::lock_guard lock(mutex_);
    return find_locked(id_or_name);
  }

  KeyResult<StoredKey> update(const std::string& id_or_name, const KeyChanges& c) override {
    std::lock_guard lock(mutex_);
    auto found = find_locked(id_or_name);
    if (!found) return found;
    StoredKey key = std::move(*found);
    if (c.rpm) key.limits.rpm = *c.rpm;
    if (c.tpm) key.limits.tpm = *c.tpm;
    if (c.daily_micro_usd) key.budget.daily_micro_usd = *c.daily_micro_usd;
    if (c.monthly_micro_usd) key.budget.monthly_micro_usd = *c.monthly_micro_usd;
    if (c.models) key.models = *c.models;
    if (c.expires_ms) key.expires_ms = *c.expires_ms;
    auto done = write([&]() -> KeyResult<void> {
      Statement st(db_,
                   "UPDATE virtual_keys SET rpm = ?, tpm = ?, budget_daily_micro_usd = ?, budget_monthly_micro_usd = ?, "
                   "models = ?, expires_ms = ? WHERE id = ?");
      if (!st.ok()) return unexpected(failure("cannot update the key"));
      bind_settings(st, key);
      st.bind(7, key.id);
      if (sqlite3_step(st.get()) != SQLITE_DONE) return unexpected(failure("cannot update the key"));
      return {};
    });
    if (!done) return unexpected(done.error());
    return key;
  }

  KeyResult<StoredKey> revoke(const std::string& id_or_name, int64_t now_ms) override {
    std::lock_guard lock(mutex_);
    auto found = find_locked(id_or_name);
    if (!found || found->revoked_ms) return found;
    StoredKey key = std::move(*found);
    key.revoked_ms = now_ms > 0 ? now_ms : 1;
    auto done = write([&]() -> KeyResult<void> {
      Statement st(db_, "UPDATE virtual_keys SET revoked_ms = ? WHERE id = ?");
      if (!st.ok()) return unexpected(failure("cannot revoke the key"));
      st.bind(1, key.revoked_ms);
      st.bind(2, key.id);
      if (sqlite3_step(st.get()) != SQLITE_DONE) return unexpected(failure("cannot revoke the key"));
      return {};
    });
    if (!done) return unexpected(done.error());
    return key;
  }

  KeyResult<int64_t> generation() override {
    std::lock_guard lock(mutex_);
    Statement st(db_, "SELECT generation FROM key_store_generation WHERE one = 1");
    if (!st.ok() || sqlite3_step(st.get()) != SQLITE_ROW) return unexpected(failure("cannot read the key store"));
    return sqlite3_column_int64(st.get(), 0);
  }

 private:
  KeyStoreError failure(const std::string& what) const {
    return {KeyStoreError::Kind::failed, what + " " + path_ + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory")};
  }

  KeyResult<StoredKey> find_locked(const std::string& id_or_name) {
    // Active keys by name before revoked ones; among revoked ones the newest.
    Statement st(db_, std::string("SELECT ") + kColumns +
                          " FROM virtual_keys WHERE id = ?1 OR name = ?1 "
                          "ORDER BY id = ?1 DESC, revoked_ms = 0 DESC, revoked_ms DESC LIMIT 1");
    if (!st.ok()) return unexpected(failure("cannot read the key store"));
    st.bind(1, id_or_name);
    int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) return read_key(st.get());
    if (rc != SQLITE_DONE) return unexpected(failure("cannot read the key store"));
    return unexpected(KeyStoreError{KeyStoreError::Kind::not_found, "no virtual key with the id or name '" + id_or_name + "'"});
  }

  // Runs `change` and bumps the generation in one transaction.
  template <class F>
  KeyResult<void> write(F&& change) {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
      return unexpected(failure("cannot write the key store"));
    auto done = change();
    if (done && sqlite3_exec(db_, "UPDATE key_store_generation SET generation = generation + 1 WHERE one = 1", nullptr,
                             nullptr, nullptr) != SQLITE_OK)
      done = unexpected(failure("cannot write the key store"));
    if (done && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
      done = unexpected(failure("cannot write the key store"));
    if (!done) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return done;
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

}  // namespace

KeyResult<std::unique_ptr<KeyStore>> open_sqlite_key_store(const std::string& path) {
  auto store = std::make_unique<SqliteKeyStore>(path);
  if (auto opened = store->open(); !opened) return unexpected(std::move(opened).error());
  return std::unique_ptr<KeyStore>(std::move(store));
}

std::string key_store_path(const std::string& state_dir) { return state_dir + "/keys.db"; }

}  // namespace llmux::storage
