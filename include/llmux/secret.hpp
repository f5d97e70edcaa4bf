// Secret: a credential that cannot be printed by accident. There is no operator<<, no fmt formatter
// and no implicit conversion; code that needs the bytes calls reveal() where the use is visible.
#pragma once

#include <string>
#include <string_view>

namespace llmux {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  bool empty() const noexcept { return value_.empty(); }
  // The only way to the bytes: call sites are greppable.
  std::string_view reveal() const noexcept { return value_; }
  // "****abcd": safe for logs and `provider info`; keys of 8 characters or fewer show nothing.
  std::string redacted() const {
    if (value_.size() <= 8) return value_.empty() ? std::string() : std::string("****");
    return "****" + value_.substr(value_.size() - 4);
  }
  // Constant-time comparison, for gateway key checks.
  bool equals(std::string_view other) const noexcept {
    if (other.size() != value_.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < other.size(); ++i)
      diff |= static_cast<unsigned char>(value_[i] ^ other[i]);
    return diff == 0;
  }
  friend bool operator==(const Secret& a, const Secret& b) { return a.equals(b.value_); }

 private:
  std::string value_;
};

}  // namespace llmux
