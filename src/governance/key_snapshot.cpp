// OpenSSL 3 deprecates the low-level SHA256_* calls, but they are the allocation-free ones: the
// one-shot SHA256() and EVP fetch the digest and allocate a context on every call.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "governance/key_snapshot.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <chrono>

namespace llmux::governance {

KeyHash hash_key(std::string_view key) noexcept {
  KeyHash out;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, key.data(), key.size());
  SHA256_Final(out.data(), &ctx);
  return out;
}

std::string hash_hex(const KeyHash& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(hash.size() * 2);
  for (unsigned char b : hash) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

std::string generate_virtual_key() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) return {};
  std::string key(kVirtualKeyPrefix);
  // base64url without padding: 32 bytes are 43 characters (256 bits, 6 at a time).
  uint32_t bits = 0;
  int held = 0;
  for (unsigned char b : random) {
    bits = (bits << 8) | b;
    held += 8;
    while (held >= 6) {
      held -= 6;
      key += kAlphabet[(bits >> held) & 0x3f];
    }
  }
  if (held > 0) key += kAlphabet[(bits << (6 - held)) & 0x3f];
  OPENSSL_cleanse(random, sizeof random);
  return key;
}

Expected<std::shared_ptr<const KeyPolicy>, Error> check_virtual_key(const KeySnapshot& snapshot, std::string_view key,
                                                                   int64_t now_ms) {
  const auto* found = snapshot.find(hash_key(key));
  if (!found) return unexpected(Error::make(ErrorKind::authentication, "invalid gateway key", {}, "invalid_api_key"));
  const KeyPolicy& policy = **found;
  if (policy.revoked)
    return unexpected(Error::make(ErrorKind::authentication, "the virtual key '" + policy.name + "' has been revoked",
                                  {}, "revoked_api_key"));
  if (policy.expires_at_ms && now_ms >= policy.expires_at_ms)
    return unexpected(
        Error::make(ErrorKind::authentication, "the virtual key '" + policy.name + "' has expired", {}, "expired_api_key"));
  return *found;
}

bool model_allowed(const KeyPolicy& policy, std::string_view model) noexcept {
  if (policy.models.empty()) return true;
  for (const auto& allowed : policy.models) {
    if (model == allowed) return true;
    // "gpt-4o" allows "openai/gpt-4o": a bare model name is that model from any provider.
    if (model.size() > allowed.size() && model.ends_with(allowed) && model[model.size() - allowed.size() - 1] == '/')
      return true;
  }
  return false;
}

Error model_not_allowed(const KeyPolicy& policy, std::string_view model) {
  std::string allowed;
  for (const auto& m : policy.models) allowed += (allowed.empty() ? "" : ", ") + m;
  return Error::make(ErrorKind::permission,
                     "the key '" + policy.name + "' may not use model '" + std::string(model) + "' (allowed: " + allowed +
                         ")",
                     "model", "model_not_allowed");
}

int64_t unix_now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace llmux::governance
