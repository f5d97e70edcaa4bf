// The key vault: $XDG_STATE_HOME/llmux/vault.json (mode 0600), one AES-256-GCM ciphertext per
// secret, each with a fresh random 12-byte nonce and its name as associated data (an entry moved
// to another name fails to decrypt).
//
// Master key, first match wins:
//   LLMUX_MASTER_KEY = 64 hex digits or base64 of 32 bytes  -> used as the key;
//   LLMUX_MASTER_KEY = anything else (a passphrase)         -> scrypt(N=2^15, r=8, p=1) with the
//                                                              vault's random salt;
//   otherwise $XDG_STATE_HOME/llmux/master.key (64 hex digits, mode 0600), generated on first use.
// The vault stores an encrypted check value, so a wrong master key is told apart from a damaged
// or tampered entry; neither ever yields garbage.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "llmux/secret.hpp"
#include "store/files.hpp"

namespace llmux::store {

class Vault {
 public:
  Vault(std::string vault_path, std::string key_path)
      : vault_path_(std::move(vault_path)), key_path_(std::move(key_path)) {}
  explicit Vault(const Paths& paths) : Vault(paths.vault(), paths.master_key()) {}
  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  // Reads vault.json (a missing file is an empty vault). Names are readable without the key.
  Result<void> load();
  bool exists() const { return exists_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }

  // Decrypts one secret (resolves and checks the master key on first use).
  Result<Secret> get(const std::string& name);
  // Encrypts and stores (creating the vault and, without LLMUX_MASTER_KEY, master.key), then
  // writes the file atomically with mode 0600.
  Result<void> put(const std::string& name, const Secret& value);
  // Removes a secret; false when there was none.
  Result<bool> remove(const std::string& name);

  // Where the master key comes from: "LLMUX_MASTER_KEY" or the key file's path.
  std::string key_source() const;
  const std::string& path() const { return vault_path_; }

  // Valid secret names: the provider-id alphabet (letters, digits, '.', '_', '-').
  static bool valid_name(const std::string& name);

 private:
  struct Sealed {
    std::string nonce;       // 12 bytes
    std::string ciphertext;  // ciphertext followed by the 16-byte tag
    std::string updated;     // ISO 8601 UTC, informational
  };

  Result<void> unlock(bool create);
  Result<void> save();

  std::string vault_path_;
  std::string key_path_;
  bool exists_ = false;
  std::string salt_;       // 16 bytes, for a passphrase master key
  std::optional<Sealed> check_;
  std::map<std::string, Sealed> entries_;
  std::array<unsigned char, 32> key_{};
  bool unlocked_ = false;
};

}  // namespace llmux::store
