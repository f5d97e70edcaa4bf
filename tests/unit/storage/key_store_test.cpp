// The SQLite virtual key store: keys stored by hash, names unique among unrevoked keys, updates
// and revocation, and a generation that every change moves, for this connection and another.
#include "storage/key_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "governance/key_snapshot.hpp"

namespace llmux::storage {
namespace {

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/llmux-keys-test-XXXXXX";
    ASSERT_TRUE(::mkdtemp(dir));
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<KeyStore> open() {
    auto store = open_sqlite_key_store(key_store_path(dir_));
    EXPECT_TRUE(store) << (store ? "" : store.error().message);
    return store ? std::move(*store) : nullptr;
  }

  static StoredKey key(const std::string& name, const std::string& secret) {
    StoredKey k;
    k.name = name;
    k.prefix = governance::display_prefix(secret);
    k.hash = governance::hash_hex(governance::hash_key(secret));
    k.created_ms = 1000;
    return k;
  }

  std::string dir_;
};

TEST_F(KeyStoreTest, CreatedKeysAreListedWithTheirSettingsAndTheFileIsPrivate) {
  auto store = open();
  auto k = key("team-a", "llmux-sk-first");
  k.limits.rpm = 60;
  k.limits.tpm = 1000;
  k.budget.daily_micro_usd = 2'500'000;
  k.budget.monthly_micro_usd = 50'000'000;
  k.models = {"gpt-4o", "fake/fake-model"};
  k.expires_ms = 99'000;
  auto created = store->create(k);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->id.rfind("vk_", 0), 0u);
  EXPECT_EQ(created->id.size(), 19u);

  auto listed = store->list();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  const auto& got = listed->front();
  EXPECT_EQ(got.id, created->id);
  EXPECT_EQ(got.name, "team-a");
  EXPECT_EQ(got.hash, k.hash);
  EXPECT_EQ(got.prefix, "llmux-sk-first");
  EXPECT_EQ(got.limits.rpm, 60u);
  EXPECT_EQ(got.limits.tpm, 1000u);
  EXPECT_EQ(got.budget.daily_micro_usd, 2'500'000);
  EXPECT_EQ(got.budget.monthly_micro_usd, 50'000'000);
  EXPECT_EQ(got.models, (std::vector<std::string>{"gpt-4o", "fake/fake-model"}));
  EXPECT_EQ(got.expires_ms, 99'000);
  EXPECT_EQ(got.revoked_ms, 0);

  struct stat st{};
  ASSERT_EQ(::stat(key_store_path(dir_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(KeyStoreTest, ANameIsUniqueAmongUnrevokedKeysAndFreeAgainOnceRevoked) {
  auto store = open();
  auto first = store->create(key("team-a", "llmux-sk-one"));
  ASSERT_TRUE(first);
  auto clash = store->create(key("team-a", "llmux-sk-two"));
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().kind, KeyStoreError::Kind::conflict);

  ASSERT_TRUE(store->revoke("team-a", 5000));
  auto second = store->create(key("team-a", "llmux-sk-two"));
  ASSERT_TRUE(second) << second.error().message;
  // By name: the unrevoked one; by id: either.
  EXPECT_EQ(store->find("team-a")->id, second->id);
  EXPECT_EQ(store->find(first->id)->revoked_ms, 5000);
  EXPECT_EQ(store->find("nobody").error().kind, KeyStoreError::Kind::not_found);
}

TEST_F(KeyStoreTest, UpdateChangesOnlyTheGivenFields) {
  auto store = open();
  auto k = key("team-a", "llmux-sk-one");
  k.limits.rpm = 10;
  k.models = {"a"};
  ASSERT_TRUE(store->create(k));
  KeyChanges c;
  c.models = std::vector<std::string>{"b", "c"};
  c.tpm = 500;
  auto updated = store->update("team-a", c);
  ASSERT_TRUE(updated) << updated.error().message;
  auto got = store->find("team-a");
  EXPECT_EQ(got->models, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(got->limits.tpm, 500u);
  EXPECT_EQ(got->limits.rpm, 10u);
  EXPECT_EQ(store->update("nobody", c).error().kind, KeyStoreError::Kind::not_found);
}

TEST_F(KeyStoreTest, EveryChangeMovesTheGenerationSeenByAnotherConnection) {
  auto writer = open();
  auto reader = open();
  auto g0 = reader->generation();
  ASSERT_TRUE(g0);
  ASSERT_TRUE(writer->create(key("team-a", "llmux-sk-one")));
  auto g1 = reader->generation();
  EXPECT_GT(*g1, *g0);
  KeyChanges c;
  c.rpm = 5;
  ASSERT_TRUE(writer->update("team-a", c));
  auto g2 = reader->generation();
  EXPECT_GT(*g2, *g1);
  ASSERT_TRUE(writer->revoke("team-a", 7));
  auto g3 = reader->generation();
  EXPECT_GT(*g3, *g2);
  // A refused change moves nothing.
  ASSERT_TRUE(writer->create(key("team-b", "llmux-sk-two")));
  auto g4 = reader->generation();
  ASSERT_FALSE(writer->create(key("team-b", "llmux-sk-three")));
  EXPECT_EQ(*reader->generation(), *g4);
}

}  // namespace
}  // namespace llmux::storage
