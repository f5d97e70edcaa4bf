#include "governance/key_refresher.hpp"

#include "observability/log.hpp"

namespace llmux::governance {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<KeyHash> parse_hash(std::string_view hex) {
  KeyHash hash;
  if (hex.size() != hash.size() * 2) return std::nullopt;
  for (size_t i = 0; i < hash.size(); ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    hash[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return hash;
}

}  // namespace

std::shared_ptr<const KeyPolicy> policy_of(const storage::StoredKey& key) {
  auto policy = std::make_shared<KeyPolicy>();
  policy->id = key.id;
  policy->name = key.name;
  policy->limits = key.limits;
  policy->budget = key.budget;
  policy->models = key.models;
  policy->expires_at_ms = key.expires_ms;
  policy->revoked = key.revoked_ms != 0;
  policy->virtual_key = true;
  return policy;
}

storage::StoredKey new_stored_key(std::string name, std::string_view key, const storage::KeyChanges& c, int64_t now_ms) {
  storage::StoredKey k;
  k.name = std::move(name);
  k.prefix = display_prefix(key);
  k.hash = hash_hex(hash_key(key));
  k.limits.rpm = c.rpm.value_or(0);
  k.limits.tpm = c.tpm.value_or(0);
  k.budget.daily_micro_usd = c.daily_micro_usd.value_or(0);
  k.budget.monthly_micro_usd = c.monthly_micro_usd.value_or(0);
  k.models = c.models.value_or(std::vector<std::string>{});
  k.created_ms = now_ms;
  k.expires_ms = c.expires_ms.value_or(0);
  return k;
}

std::shared_ptr<const KeySnapshot> build_key_snapshot(const std::vector<storage::StoredKey>& keys) {
  KeySnapshot::Map map;
  map.reserve(keys.size());
  for (const auto& k : keys)
    if (auto hash = parse_hash(k.hash)) map.emplace(*hash, policy_of(k));
  return std::make_shared<const KeySnapshot>(std::move(map));
}

Expected<bool, std::string> VirtualKeys::refresh() {
  auto generation = store_->generation();
  if (!generation) return unexpected(generation.error().message);
  if (generation_ && *generation_ == *generation) return false;
  auto keys = store_->list();
  if (!keys) return unexpected(keys.error().message);
  snapshots_.publish(build_key_snapshot(*keys));
  // The generation read before the list: a change between the two is picked up next time.
  generation_ = *generation;
  return true;
}

KeyRefresher::KeyRefresher(boost::asio::io_context& io, std::shared_ptr<VirtualKeys> keys,
                           std::chrono::milliseconds interval)
    : keys_(std::move(keys)), timer_(io), interval_(interval) {}

void KeyRefresher::start() { schedule(); }

void KeyRefresher::refresh_now() {
  auto done = keys_->refresh();
  if (!done && !failing_) observability::log_warning("virtual keys: " + done.error() + " (keeping the keys last read)");
  if (done && failing_) observability::log_info("virtual keys: the key store is readable again");
  failing_ = !done;
}

void KeyRefresher::schedule() {
  timer_.expires_after(interval_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    refresh_now();
    schedule();
  });
}

}  // namespace llmux::governance
