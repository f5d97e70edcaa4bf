// Virtual keys on the request path: the key format, the snapshot's verdicts (unknown, revoked,
// expired, valid), model restrictions, and a refresher that publishes only when the store changed.
#include "governance/key_snapshot.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include "governance/key_refresher.hpp"

namespace llmux::governance {
namespace {

TEST(VirtualKey, IsThePrefixAnd43Base64urlCharactersAndNeverRepeats) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string key = generate_virtual_key();
    ASSERT_EQ(key.size(), kVirtualKeyPrefix.size() + 43) << key;
    EXPECT_TRUE(is_virtual_key(key));
    EXPECT_EQ(key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                                    kVirtualKeyPrefix.size()),
              std::string::npos);
    EXPECT_TRUE(seen.insert(key).second);
  }
}

TEST(VirtualKey, HashIsSha256) {
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(hash_hex(hash_key("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

storage::StoredKey stored(const std::string& name, const std::string& secret) {
  storage::StoredKey k;
  k.id = "vk_" + name;
  k.name = name;
  k.hash = hash_hex(hash_key(secret));
  return k;
}

TEST(KeySnapshot, AnswersEachKeyWithItsPolicyOrItsOwn401) {
  auto valid = stored("valid", "llmux-sk-valid");
  valid.models = {"gpt-4o"};
  auto revoked = stored("revoked", "llmux-sk-revoked");
  revoked.revoked_ms = 5;
  auto expiring = stored("expiring", "llmux-sk-expiring");
  expiring.expires_ms = 10'000;
  auto snapshot = build_key_snapshot({valid, revoked, expiring});
  EXPECT_EQ(snapshot->size(), 3u);

  auto ok = check_virtual_key(*snapshot, "llmux-sk-valid", 1);
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)->name, "valid");
  EXPECT_EQ((*ok)->id, "vk_valid");
  EXPECT_EQ((*ok)->models, std::vector<std::string>{"gpt-4o"});

  auto code = [&](std::string_view key, int64_t now) {
    auto r = check_virtual_key(*snapshot, key, now);
    return r ? std::string("ok") : r.error().code + "/" + std::to_string(r.error().http_status);
  };
  EXPECT_EQ(code("llmux-sk-unknown", 1), "invalid_api_key/401");
  EXPECT_EQ(code("llmux-sk-revoked", 1), "revoked_api_key/401");
  EXPECT_EQ(code("llmux-sk-expiring", 9'999), "ok");
  EXPECT_EQ(code("llmux-sk-expiring", 10'000), "expired_api_key/401");
}

TEST(KeySnapshot, ABareModelNameAllowsItFromAnyProviderAQualifiedOneOnlyItself) {
  KeyPolicy open;
  EXPECT_TRUE(model_allowed(open, "anything"));
  KeyPolicy p;
  p.name = "team";
  p.models = {"gpt-4o", "fake/fake-model"};
  EXPECT_TRUE(model_allowed(p, "gpt-4o"));
  EXPECT_TRUE(model_allowed(p, "openai/gpt-4o"));
  EXPECT_TRUE(model_allowed(p, "fake/fake-model"));
  EXPECT_FALSE(model_allowed(p, "fake-model"));
  EXPECT_FALSE(model_allowed(p, "xgpt-4o"));
  EXPECT_FALSE(model_allowed(p, "gpt-4o-mini"));
  EXPECT_FALSE(model_allowed(p, ""));
  auto e = model_not_allowed(p, "gpt-4o-mini");
  EXPECT_EQ(e.http_status, 403);
  EXPECT_EQ(e.code, "model_not_allowed");
}

TEST(KeySnapshot, AReaderSeesAPublishedSnapshotOnItsNextRead) {
  KeySnapshots snapshots;
  KeySnapshotReader reader;
  EXPECT_EQ(reader.get(snapshots).size(), 0u);
  snapshots.publish(build_key_snapshot({stored("a", "llmux-sk-a")}));
  EXPECT_EQ(reader.get(snapshots).size(), 1u);
  // Readers on other threads while the refresher publishes: each read is one whole snapshot.
  std::atomic<bool> stop{false};
  std::thread t([&] {
    KeySnapshotReader mine;
    while (!stop.load()) {
      size_t n = mine.get(snapshots).size();
      ASSERT_TRUE(n == 1 || n == 2);
    }
  });
  for (int i = 0; i < 2000; ++i)
    snapshots.publish(build_key_snapshot(i % 2 ? std::vector{stored("a", "llmux-sk-a")}
                                               : std::vector{stored("a", "llmux-sk-a"), stored("b", "llmux-sk-b")}));
  stop = true;
  t.join();
}

TEST(VirtualKeys, RefreshPublishesOnlyWhenTheStoreChanged) {
  char dir[] = "/tmp/llmux-vkeys-test-XXXXXX";
  ASSERT_TRUE(::mkdtemp(dir));
  std::string path = storage::key_store_path(dir);
  auto store = storage::open_sqlite_key_store(path);
  ASSERT_TRUE(store);
  std::shared_ptr<storage::KeyStore> shared = std::move(*store);
  VirtualKeys keys(shared);
  auto first = keys.refresh();
  ASSERT_TRUE(first);
  EXPECT_TRUE(*first);  // the first read always publishes
  EXPECT_EQ(keys.snapshots().current()->size(), 0u);
  EXPECT_FALSE(*keys.refresh());
  uint64_t version = keys.snapshots().version();

  // The CLI writes through its own connection.
  auto cli = storage::open_sqlite_key_store(path);
  ASSERT_TRUE(cli);
  auto k = stored("team-a", "llmux-sk-team-a");
  k.id.clear();
  ASSERT_TRUE((*cli)->create(k));
  EXPECT_TRUE(*keys.refresh());
  EXPECT_GT(keys.snapshots().version(), version);
  ASSERT_TRUE(check_virtual_key(*keys.snapshots().current(), "llmux-sk-team-a", 1));
  ASSERT_TRUE((*cli)->revoke("team-a", 2));
  EXPECT_TRUE(*keys.refresh());
  EXPECT_EQ(check_virtual_key(*keys.snapshots().current(), "llmux-sk-team-a", 3).error().code, "revoked_api_key");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace llmux::governance
