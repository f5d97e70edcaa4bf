// `llmux api-key` and `llmux config set api_keys.NAME`: the encrypted vault, the no-echo prompt on
// a real terminal, and clear errors for a wrong master key or a tampered vault.
#include <gtest/gtest.h>

#include <signal.h>
#include <termios.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <fstream>

#include "cli_harness.hpp"
#include "harness.hpp"

namespace llmux::test {
namespace {

namespace bjson = boost::json;

constexpr const char* kKey = "sk-test-vault-0123456789abcdef";
constexpr const char* kHexA = "LLMUX_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr const char* kHexB = "LLMUX_MASTER_KEY=ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(CliKeys, PipedKeyIsStoredEncryptedAndUsedButNeverPrinted) {
  auto fake = start_fake({"--require-key", kKey});
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "fake", fake.base_url(), "--model", "fake-model"}).exit, 0);

  auto before = box.run({"chat", "hello", "--provider", "fake"});
  EXPECT_EQ(before.exit, 1) << before.all();
  EXPECT_TRUE(contains(before.err, "HTTP 401")) << before.err;
  EXPECT_TRUE(contains(before.err, "llmux api-key fake")) << "401 says how to set the key: " << before.err;

  auto stored = box.run({"api-key", "fake"}, std::string(kKey) + "\n");
  ASSERT_EQ(stored.exit, 0) << stored.all();
  EXPECT_EQ(file_mode(box.vault_file()), 0600);
  EXPECT_EQ(file_mode(box.state_dir() + "/master.key"), 0600);
  std::string vault = read_text(box.vault_file());
  EXPECT_FALSE(contains(vault, kKey));
  EXPECT_FALSE(contains(vault, "0123456789abcdef"));
  EXPECT_TRUE(contains(vault, "\"cipher\":\"aes-256-gcm\"")) << vault;

  auto after = box.run({"chat", "hello", "--provider", "fake"});
  EXPECT_EQ(after.exit, 0) << after.all();
  EXPECT_TRUE(contains(after.out, "You said: hello")) << after.out;

  // No command prints the stored key; the ones that mention it show ****cdef.
  std::vector<std::vector<std::string>> commands = {
      {"provider", "info", "fake"}, {"provider", "info", "fake", "--json"}, {"provider", "list"},
      {"provider", "list", "--json"}, {"config", "list"}, {"config", "list", "--json"},
      {"config", "get", "api_keys.fake"}, {"provider", "test", "fake"}, {"provider", "test", "fake", "--json"},
      {"validate"}, {"models"}};
  for (const auto& args : commands) {
    auto r = box.run(args);
    EXPECT_FALSE(contains(r.all(), "0123456789")) << args[0] << " " << args[1] << " printed the key:\n" << r.all();
  }
  auto info = box.run({"provider", "info", "fake"});
  EXPECT_TRUE(contains(info.out, "API key:        vault (****cdef)")) << info.out;
}

TEST(CliKeys, ConfigSetApiKeysWorksTooAndUnsetRemovesIt) {
  auto fake = start_fake({"--require-key", kKey});
  Sandbox box;
  box.extra_env = {kHexA};
  ASSERT_EQ(box.run({"provider", "add", "fake", fake.base_url()}).exit, 0);
  auto set = box.run({"config", "set", "api_keys.fake", kKey});
  ASSERT_EQ(set.exit, 0) << set.all();
  EXPECT_TRUE(contains(set.out, "LLMUX_MASTER_KEY")) << set.out;
  EXPECT_FALSE(std::ifstream(box.state_dir() + "/master.key").good()) << "no key file with LLMUX_MASTER_KEY";
  EXPECT_EQ(box.run({"chat", "x", "--provider", "fake", "--model", "m"}).exit, 0);
  auto get = box.run({"config", "get", "api_keys.fake"});
  EXPECT_EQ(get.exit, 0);
  EXPECT_TRUE(contains(get.out, "****cdef")) << get.out;
  auto listed = bjson::parse(box.run({"config", "list", "--json"}).out);
  EXPECT_EQ(listed.at("api_keys").at("fake"), "****cdef");
  ASSERT_EQ(box.run({"config", "unset", "api_keys.fake"}).exit, 0);
  EXPECT_EQ(box.run({"chat", "x", "--provider", "fake", "--model", "m"}).exit, 1);
  auto missing = box.run({"config", "unset", "api_keys.fake"});
  EXPECT_EQ(missing.exit, 3);
  auto bad = box.run({"config", "set", "colour", "blue"});
  EXPECT_EQ(bad.exit, 2);
  EXPECT_TRUE(contains(bad.err, "unknown setting 'colour'")) << bad.err;
}

TEST(CliKeys, WrongMasterKeyIsAClearErrorNotGarbage) {
  auto fake = start_fake({"--require-key", kKey});
  Sandbox box;
  box.extra_env = {kHexA};
  ASSERT_EQ(box.run({"provider", "add", "fake", fake.base_url()}).exit, 0);
  ASSERT_EQ(box.run({"api-key", "fake"}, kKey).exit, 0);
  box.extra_env = {kHexB};
  for (std::vector<std::string> args : {std::vector<std::string>{"chat", "x", "--provider", "fake"},
                                        {"config", "get", "api_keys.fake"}, {"validate"}}) {
    auto r = box.run(args);
    EXPECT_EQ(r.exit, args[0] == "validate" ? 1 : 4) << r.all();
    EXPECT_TRUE(contains(r.err, "wrong master key")) << r.err;
    EXPECT_FALSE(contains(r.all(), "0123456789")) << r.all();
  }
  // Storing another key with the wrong master key is refused too (no mixed-key vault).
  EXPECT_EQ(box.run({"config", "set", "api_keys.other", "k-other-123456789"}).exit, 4);
}

TEST(CliKeys, TamperedVaultIsDetected) {
  Sandbox box;
  box.extra_env = {kHexA};
  ASSERT_EQ(box.run({"config", "set", "api_keys.a", "key-a-111111111111"}).exit, 0);
  ASSERT_EQ(box.run({"config", "set", "api_keys.b", "key-b-222222222222"}).exit, 0);
  auto doc = bjson::parse(read_text(box.vault_file())).as_object();
  // Swap the two ciphertexts: each is bound to its name, so both fail.
  auto& secrets = doc["secrets"].as_object();
  std::swap(secrets["a"], secrets["b"]);
  write_text(box.vault_file(), bjson::serialize(doc));
  auto swapped = box.run({"config", "get", "api_keys.a"});
  EXPECT_EQ(swapped.exit, 4) << swapped.all();
  EXPECT_TRUE(contains(swapped.err, "vault entry 'a' does not decrypt")) << swapped.err;
  EXPECT_TRUE(contains(swapped.err, "modified or damaged")) << swapped.err;
  EXPECT_FALSE(contains(swapped.all(), "key-b-")) << swapped.all();

  write_text(box.vault_file(), "{\"format\": \"llmux-vault/1\", \"secrets\": [");
  auto broken = box.run({"config", "list"});
  EXPECT_EQ(broken.exit, 4) << broken.all();
  EXPECT_TRUE(contains(broken.err, "is damaged")) << broken.err;
}

TEST(CliKeys, MasterKeyFileReadableByOthersIsRefused) {
  Sandbox box;
  ASSERT_EQ(box.run({"config", "set", "api_keys.a", "key-a-111111111111"}).exit, 0);
  ASSERT_EQ(::chmod((box.state_dir() + "/master.key").c_str(), 0644), 0);
  auto r = box.run({"config", "get", "api_keys.a"});
  EXPECT_EQ(r.exit, 4);
  EXPECT_TRUE(contains(r.err, "chmod 600")) << r.err;
}

TEST(CliKeys, TerminalPromptDoesNotEchoTheKeyAndStoresIt) {
  auto fake = start_fake({"--require-key", kKey});
  Sandbox box;
  box.extra_env = {kHexA, "TERM=xterm"};
  ASSERT_EQ(box.run({"provider", "add", "fake", fake.base_url()}).exit, 0);
  PtySession tty({LLMUX_BINARY, "api-key", "fake"}, box.env());
  ASSERT_TRUE(tty.expect("API key for fake (input hidden): ")) << tty.transcript();
  EXPECT_FALSE(tty.local_flags() & ECHO) << "echo is still on while the key is typed";
  tty.send(std::string(kKey) + "\r");
  EXPECT_EQ(tty.wait(), 0) << tty.transcript();
  EXPECT_FALSE(contains(tty.transcript(), "0123456789")) << "the key was echoed:\n" << tty.transcript();
  EXPECT_TRUE(contains(tty.transcript(), "stored the API key for 'fake' (****cdef)")) << tty.transcript();
  auto chat = box.run({"chat", "typed on a terminal", "--provider", "fake", "--model", "m"});
  EXPECT_EQ(chat.exit, 0) << chat.all();
}

TEST(CliKeys, InterruptAtThePromptRestoresEcho) {
  Sandbox box;
  box.extra_env = {kHexA, "TERM=xterm"};
  PtySession tty({LLMUX_BINARY, "api-key", "fake"}, box.env());
  ASSERT_TRUE(tty.expect("(input hidden): ")) << tty.transcript();
  ASSERT_FALSE(tty.local_flags() & ECHO);
  tty.send("\x03");  // ^C
  EXPECT_EQ(tty.wait(), 128 + SIGINT) << tty.transcript();
  EXPECT_TRUE(tty.local_flags() & ECHO) << "the terminal was left without echo";
  EXPECT_FALSE(std::ifstream(box.vault_file()).good());
}

}  // namespace
}  // namespace llmux::test
