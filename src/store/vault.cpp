#include "store/vault.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

namespace llmux::store {

namespace bjson = boost::json;

namespace {

constexpr const char* kFormat = "llmux-vault/1";
constexpr const char* kCheckText = "llmux vault check";
constexpr const char* kCheckAad = "llmux-vault-check";
constexpr uint64_t kScryptN = 1 << 15, kScryptR = 8, kScryptP = 1;
constexpr size_t kNonceSize = 12, kTagSize = 16;

std::string entry_aad(const std::string& name) { return "llmux-vault-entry:" + name; }

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kB64[(v >> s) & 63];
  }
  if (size_t rest = in.size() - i) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (rest == 2) v |= uint8_t(in[i + 1]) << 8;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += rest == 2 ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::strchr(kB64, c);
    if (!p || c == '\0') {
      if (c == '-') p = kB64 + 62;        // base64url
      else if (c == '_') p = kB64 + 63;
      else return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6) return std::nullopt;
  return out;
}

std::optional<std::string> hex_decode(std::string_view in) {
  if (in.size() % 2) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < in.size(); i += 2) {
    int hi = nibble(in[i]), lo = nibble(in[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::string hex_encode(const unsigned char* data, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("the system random generator failed");
  return out;
}

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// AES-256-GCM; returns ciphertext || tag.
std::string seal(const std::array<unsigned char, 32>& key, const std::string& nonce, std::string_view plain,
                 std::string_view aad) {
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  std::string out(plain.size() + kTagSize, '\0');
  int len = 0, total = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(),
                               reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), o, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                              static_cast<int>(plain.size())) == 1;
  total = len;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), o + total, &len) == 1;
  total += len;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, o + total) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");
  out.resize(static_cast<size_t>(total) + kTagSize);
  return out;
}

// nullopt when the tag does not verify: wrong key, or modified nonce/ciphertext/tag/name.
std::optional<std::string> open_sealed(const std::array<unsigned char, 32>& key, const std::string& nonce,
                                       const std::string& sealed, std::string_view aad) {
  if (sealed.size() < kTagSize || nonce.size() != kNonceSize) return std::nullopt;
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  size_t n = sealed.size() - kTagSize;
  std::string out(n, '\0');
  std::string tag = sealed.substr(n);
  int len = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(),
                               reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), o, &len, reinterpret_cast<const unsigned char*>(sealed.data()),
                              static_cast<int>(n)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1;
  int tail = 0;
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), o + len, &tail) == 1;
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

Failure vault_failure(std::string message) { return Failure::of(FailKind::vault, std::move(message)); }

}  // namespace

Vault::~Vault() { OPENSSL_cleanse(key_.data(), key_.size()); }

bool Vault::valid_name(const std::string& name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

std::vector<std::string> Vault::names() const {
  std::vector<std::string> out;
  for (const auto& [name, unused] : entries_) out.push_back(name);
  return out;
}

std::string Vault::key_source() const {
  const char* env = std::getenv("LLMUX_MASTER_KEY");
  return env && *env ? "LLMUX_MASTER_KEY" : key_path_;
}

Result<void> Vault::load() {
  entries_.clear();
  check_.reset();
  salt_.clear();
  unlocked_ = false;
  auto text = read_file(vault_path_);
  if (!text) return unexpected(text.error());
  exists_ = text->has_value();
  if (!exists_) return {};
  auto damaged = [&](const std::string& why) {
    return unexpected(vault_failure("the vault " + vault_path_ + " is damaged (" + why +
                                    "): restore it from a backup, or delete it and store the keys again"));
  };
  boost::system::error_code ec;
  auto doc = bjson::parse(**text, ec);
  if (ec || !doc.is_object()) return damaged("not a JSON object");
  const auto& o = doc.as_object();
  auto str = [](const bjson::object& obj, const char* key) -> std::optional<std::string> {
    const auto* v = obj.if_contains(key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  if (str(o, "format") != kFormat) return damaged("unknown format; expected " + std::string(kFormat));
  auto sealed = [&](const bjson::value* v) -> std::optional<Sealed> {
    if (!v || !v->is_object()) return std::nullopt;
    auto nonce = str(v->as_object(), "nonce");
    auto data = str(v->as_object(), "data");
    if (!nonce || !data) return std::nullopt;
    auto n = base64_decode(*nonce);
    auto d = base64_decode(*data);
    if (!n || !d || n->size() != kNonceSize || d->size() < kTagSize) return std::nullopt;
    return Sealed{*n, *d, str(v->as_object(), "updated").value_or("")};
  };
  const auto* kdf = o.if_contains("kdf");
  if (!kdf || !kdf->is_object()) return damaged("no kdf");
  auto salt = str(kdf->as_object(), "salt");
  auto salt_bytes = salt ? base64_decode(*salt) : std::nullopt;
  if (!salt_bytes || salt_bytes->size() < 16) return damaged("bad kdf salt");
  salt_ = *salt_bytes;
  check_ = sealed(o.if_contains("check"));
  if (!check_) return damaged("no key check value");
  const auto* secrets = o.if_contains("secrets");
  if (!secrets || !secrets->is_object()) return damaged("no secrets object");
  for (const auto& [name, value] : secrets->as_object()) {
    auto s = sealed(&value);
    if (!s) return damaged("entry '" + std::string(name) + "' is malformed");
    entries_.emplace(std::string(name), std::move(*s));
  }
  return {};
}

Result<void> Vault::unlock(bool create) {
  if (unlocked_) return {};
  if (salt_.empty()) salt_ = random_bytes(16);
  const char* env = std::getenv("LLMUX_MASTER_KEY");
  if (env && *env) {
    std::string_view text = env;
    auto raw = text.size() == 64 ? hex_decode(text) : std::nullopt;
    if (!raw) {
      auto b64 = base64_decode(text);
      if (b64 && b64->size() == 32 && (text.size() == 43 || text.size() == 44)) raw = b64;
    }
    if (raw) {
      std::memcpy(key_.data(), raw->data(), 32);
      OPENSSL_cleanse(raw->data(), raw->size());
    } else if (EVP_PBE_scrypt(env, std::strlen(env), reinterpret_cast<const unsigned char*>(salt_.data()),
                              salt_.size(), kScryptN, kScryptR, kScryptP, 64ull << 20, key_.data(),
                              key_.size()) != 1) {
      return unexpected(vault_failure("cannot derive the master key from LLMUX_MASTER_KEY (scrypt failed)"));
    }
  } else {
    auto text = read_file(key_path_);
    if (!text) return unexpected(text.error());
    if (!*text) {
      if (!create)
        return unexpected(vault_failure("cannot open the vault: LLMUX_MASTER_KEY is not set and the key file " +
                                        key_path_ + " does not exist"));
      if (auto dir = ensure_dir(dir_of(key_path_), 0700); !dir) return unexpected(dir.error());
      std::string fresh = random_bytes(32);
      std::string hex = hex_encode(reinterpret_cast<const unsigned char*>(fresh.data()), 32) + "\n";
      OPENSSL_cleanse(fresh.data(), fresh.size());
      int fd = ::open(key_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd >= 0) {
        bool ok = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
        ::close(fd);
        if (!ok) {
          ::unlink(key_path_.c_str());
          return unexpected(Failure::of(FailKind::io, "cannot write " + key_path_ + ": " + std::strerror(errno)));
        }
      } else if (errno != EEXIST) {
        return unexpected(Failure::of(FailKind::io, "cannot create " + key_path_ + ": " + std::strerror(errno)));
      }
      OPENSSL_cleanse(hex.data(), hex.size());
      text = read_file(key_path_);  // ours, or the one a concurrent llmux just created
      if (!text || !*text) return unexpected(Failure::of(FailKind::io, "cannot read " + key_path_));
    }
    struct stat st {};
    if (::stat(key_path_.c_str(), &st) == 0 && (st.st_mode & 077)) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return unexpected(vault_failure("the master key file " + key_path_ + " is accessible by other users (mode " +
                                      mode + "): run chmod 600 " + key_path_));
    }
    std::string content = **text;
    while (!content.empty() && std::isspace(static_cast<unsigned char>(content.back()))) content.pop_back();
    auto raw = content.size() == 64 ? hex_decode(content) : std::nullopt;
    OPENSSL_cleanse(content.data(), content.size());
    if (!raw) return unexpected(vault_failure("the master key file " + key_path_ + " is malformed (expected 64 hex digits)"));
    std::memcpy(key_.data(), raw->data(), 32);
    OPENSSL_cleanse(raw->data(), raw->size());
  }
  if (check_) {
    auto check = open_sealed(key_, check_->nonce, check_->ciphertext, kCheckAad);
    if (!check || *check != kCheckText) {
      OPENSSL_cleanse(key_.data(), key_.size());
      return unexpected(vault_failure("wrong master key: the key from " + key_source() + " does not open the vault " +
                                      vault_path_ +
                                      " (set LLMUX_MASTER_KEY to the key the vault was created with, or restore "
                                      "its master.key)"));
    }
  } else {
    std::string nonce = random_bytes(kNonceSize);
    check_ = Sealed{nonce, seal(key_, nonce, kCheckText, kCheckAad), now_utc()};
  }
  unlocked_ = true;
  return {};
}

Result<Secret> Vault::get(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end())
    return unexpected(Failure::of(FailKind::not_found, "no API key named '" + name + "' in the vault"));
  if (auto ok = unlock(false); !ok) return unexpected(ok.error());
  auto plain = open_sealed(key_, it->second.nonce, it->second.ciphertext, entry_aad(name));
  if (!plain)
    return unexpected(vault_failure("the vault entry '" + name + "' does not decrypt: " + vault_path_ +
                                    " was modified or damaged; store the key again with `llmux api-key " + name + "`"));
  Secret secret(std::move(*plain));
  return secret;
}

Result<void> Vault::put(const std::string& name, const Secret& value) {
  if (!valid_name(name))
    return unexpected(Failure::of(FailKind::invalid, "invalid key name '" + name + "': use letters, digits, '.', '_' and '-'"));
  if (auto ok = unlock(true); !ok) return unexpected(ok.error());
  std::string nonce = random_bytes(kNonceSize);
  entries_[name] = Sealed{nonce, seal(key_, nonce, value.reveal(), entry_aad(name)), now_utc()};
  return save();
}

Result<bool> Vault::remove(const std::string& name) {
  if (!entries_.erase(name)) return false;
  if (auto saved = save(); !saved) return unexpected(saved.error());
  return true;
}

Result<void> Vault::save() {
  if (!check_) return unexpected(vault_failure("the vault is not unlocked"));
  auto sealed_json = [](const Sealed& s) {
    bjson::object o;
    o["nonce"] = base64_encode(s.nonce);
    o["data"] = base64_encode(s.ciphertext);
    if (!s.updated.empty()) o["updated"] = s.updated;
    return o;
  };
  bjson::object doc;
  doc["format"] = kFormat;
  doc["cipher"] = "aes-256-gcm";
  doc["note"] = "API keys encrypted by llmux; the master key is LLMUX_MASTER_KEY or master.key next to this file";
  doc["kdf"] = bjson::object{{"name", "scrypt"},
                             {"salt", base64_encode(salt_)},
                             {"n", kScryptN},
                             {"r", kScryptR},
                             {"p", kScryptP}};
  doc["check"] = sealed_json(*check_);
  bjson::object secrets;
  for (const auto& [name, s] : entries_) secrets[name] = sealed_json(s);
  doc["secrets"] = std::move(secrets);
  if (auto dir = ensure_dir(dir_of(vault_path_), 0700); !dir) return unexpected(dir.error());
  if (auto written = write_file_atomic(vault_path_, bjson::serialize(doc) + "\n", 0600); !written)
    return unexpected(written.error());
  exists_ = true;
  return {};
}

}  // namespace llmux::store
