// The vault: AES-256-GCM per secret, fresh nonces, wrong key and tampering told apart.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "store/vault.hpp"

namespace llmux::store {
namespace {

namespace bjson = boost::json;

constexpr const char* kHex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

class VaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/llmux-vault-XXXXXX";
    dir_ = ::mkdtemp(path);
    ::unsetenv("LLMUX_MASTER_KEY");
  }
  void TearDown() override {
    ::unsetenv("LLMUX_MASTER_KEY");
    std::filesystem::remove_all(dir_);
  }
  std::string vault_path() const { return dir_ + "/state/vault.json"; }
  std::string key_path() const { return dir_ + "/state/master.key"; }
  std::string read(const std::string& path) const {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void write(const std::string& path, const std::string& text) const { std::ofstream(path) << text; }

  std::string dir_;
};

TEST_F(VaultTest, StoresAndReadsBackWithAGeneratedKeyFile) {
  {
    Vault v(vault_path(), key_path());
    ASSERT_TRUE(v.load());
    EXPECT_FALSE(v.exists());
    ASSERT_TRUE(v.put("openai", Secret("sk-one-1111111111")));
    ASSERT_TRUE(v.put("groq", Secret("gsk-two-2222222222")));
  }
  struct stat st {};
  ASSERT_EQ(::stat(vault_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(key_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read(key_path()).size(), 65u);  // 64 hex digits + newline

  std::string text = read(vault_path());
  EXPECT_EQ(text.find("sk-one"), std::string::npos);
  EXPECT_EQ(text.find("gsk-two"), std::string::npos);

  Vault again(vault_path(), key_path());
  ASSERT_TRUE(again.load());
  EXPECT_EQ(again.names(), (std::vector<std::string>{"groq", "openai"}));
  auto one = again.get("openai");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->reveal(), "sk-one-1111111111");
  auto missing = again.get("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, FailKind::not_found);
}

TEST_F(VaultTest, EverySecretGetsAFreshNonce) {
  ::setenv("LLMUX_MASTER_KEY", kHex, 1);
  Vault v(vault_path(), key_path());
  ASSERT_TRUE(v.load());
  ASSERT_TRUE(v.put("a", Secret("same-secret-value")));
  auto first = bjson::parse(read(vault_path())).at("secrets").at("a");
  ASSERT_TRUE(v.put("a", Secret("same-secret-value")));
  ASSERT_TRUE(v.put("b", Secret("same-secret-value")));
  auto doc = bjson::parse(read(vault_path()));
  auto second = doc.at("secrets").at("a");
  auto other = doc.at("secrets").at("b");
  EXPECT_NE(first.at("nonce"), second.at("nonce"));
  EXPECT_NE(first.at("data"), second.at("data"));
  EXPECT_NE(second.at("nonce"), other.at("nonce"));
  EXPECT_EQ(bjson::value_to<std::string>(second.at("nonce")).size(), 16u);  // 12 bytes in base64
  EXPECT_FALSE(std::filesystem::exists(key_path())) << "LLMUX_MASTER_KEY needs no key file";
}

TEST_F(VaultTest, WrongMasterKeyIsToldApartFromTampering) {
  ::setenv("LLMUX_MASTER_KEY", kHex, 1);
  {
    Vault v(vault_path(), key_path());
    ASSERT_TRUE(v.load());
    ASSERT_TRUE(v.put("a", Secret("secret-a-123456")));
  }
  ::setenv("LLMUX_MASTER_KEY", "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100", 1);
  Vault wrong(vault_path(), key_path());
  ASSERT_TRUE(wrong.load());
  auto r = wrong.get("a");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, FailKind::vault);
  EXPECT_NE(r.error().messages[0].find("wrong master key"), std::string::npos) << r.error().messages[0];
  EXPECT_FALSE(wrong.put("b", Secret("x")));

  ::setenv("LLMUX_MASTER_KEY", kHex, 1);
  auto doc = bjson::parse(read(vault_path())).as_object();
  std::string data = bjson::value_to<std::string>(doc["secrets"].at("a").at("data"));
  data[3] = data[3] == 'A' ? 'B' : 'A';  // one flipped ciphertext character
  doc["secrets"].as_object()["a"].as_object()["data"] = data;
  write(vault_path(), bjson::serialize(doc));
  Vault tampered(vault_path(), key_path());
  ASSERT_TRUE(tampered.load());
  auto t = tampered.get("a");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind, FailKind::vault);
  EXPECT_NE(t.error().messages[0].find("does not decrypt"), std::string::npos) << t.error().messages[0];
}

TEST_F(VaultTest, Base64AndPassphraseMasterKeys) {
  // base64 of 32 bytes is used as the key; anything else is a passphrase through scrypt.
  ::setenv("LLMUX_MASTER_KEY", "ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=", 1);
  {
    Vault v(vault_path(), key_path());
    ASSERT_TRUE(v.load());
    ASSERT_TRUE(v.put("a", Secret("via-base64")));
  }
  ::setenv("LLMUX_MASTER_KEY", kHex, 1);  // the same 32 bytes, written in hex
  {
    Vault v(vault_path(), key_path());
    ASSERT_TRUE(v.load());
    auto a = v.get("a");
    ASSERT_TRUE(a) << a.error().messages[0];
    EXPECT_EQ(a->reveal(), "via-base64");
  }
  std::filesystem::remove(vault_path());
  ::setenv("LLMUX_MASTER_KEY", "correct horse battery staple", 1);
  {
    Vault v(vault_path(), key_path());
    ASSERT_TRUE(v.load());
    ASSERT_TRUE(v.put("p", Secret("via-passphrase")));
  }
  Vault v(vault_path(), key_path());
  ASSERT_TRUE(v.load());
  auto p = v.get("p");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->reveal(), "via-passphrase");
}

TEST_F(VaultTest, DamagedFilesAndLooseKeyFilesAreRefused) {
  std::filesystem::create_directories(dir_ + "/state");
  write(vault_path(), "not json");
  Vault damaged(vault_path(), key_path());
  auto r = damaged.load();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, FailKind::vault);
  EXPECT_NE(r.error().messages[0].find("is damaged"), std::string::npos);

  std::filesystem::remove(vault_path());
  {
    Vault v(vault_path(), key_path());
    ASSERT_TRUE(v.load());
    ASSERT_TRUE(v.put("a", Secret("x-123456789")));
  }
  ::chmod(key_path().c_str(), 0640);
  Vault loose(vault_path(), key_path());
  ASSERT_TRUE(loose.load());
  auto g = loose.get("a");
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().messages[0].find("chmod 600"), std::string::npos) << g.error().messages[0];

  std::filesystem::remove(key_path());
  Vault keyless(vault_path(), key_path());
  ASSERT_TRUE(keyless.load());
  auto k = keyless.get("a");
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().messages[0].find("does not exist"), std::string::npos) << k.error().messages[0];
  EXPECT_FALSE(std::filesystem::exists(key_path())) << "reading must not create a new key";
}

TEST_F(VaultTest, RemoveAndNames) {
  ::setenv("LLMUX_MASTER_KEY", kHex, 1);
  Vault v(vault_path(), key_path());
  ASSERT_TRUE(v.load());
  ASSERT_TRUE(v.put("a", Secret("1")));
  auto removed = v.remove("a");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  auto again = v.remove("a");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  EXPECT_FALSE(v.put("bad name", Secret("x")));
  EXPECT_FALSE(Vault::valid_name(""));
  EXPECT_TRUE(Vault::valid_name("my-provider.v2"));
}

}  // namespace
}  // namespace llmux::store
