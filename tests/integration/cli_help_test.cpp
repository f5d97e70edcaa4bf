// --help on every command, documented exit codes, usage errors, the completion script.
#include <gtest/gtest.h>

#include <cstdlib>
#include <future>

#include "cli_harness.hpp"

namespace llmux::test {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(CliHelp, EveryCommandHasHelpAndTheExitCodesAreDocumented) {
  Sandbox box;
  auto top = box.run({"--help"});
  ASSERT_EQ(top.exit, 0);
  for (const char* text : {"Exit status: 0 ok; 1 failed", "2 usage error", "3 not found", "4 vault", "NO_COLOR"})
    EXPECT_TRUE(contains(top.out, text)) << text << "\n" << top.out;
  // Every command, nested ones included, is described in one --help-all ...
  auto all = box.run({"--help-all"});
  ASSERT_EQ(all.exit, 0);
  for (const char* command : {"serve", "validate", "provider", "add", "list", "info", "update", "remove", "enable",
                              "disable", "default", "test", "api-key", "config", "set", "get", "unset", "path", "chat",
                              "models", "run", "prompt", "create", "show", "completion"})
    EXPECT_TRUE(contains(all.out, std::string("\n") + command + "\n") || contains(all.out, std::string("  ") + command + " "))
        << command;
  // ... and answers --help on its own (a sample of every level; in parallel, process starts add up
  // under ASan).
  std::vector<std::vector<std::string>> commands = {
      {"serve"}, {"provider"}, {"provider", "add"}, {"provider", "test"}, {"api-key"}, {"config", "set"},
      {"chat"}, {"models"}, {"run"}, {"prompt", "create"}};
  std::vector<std::future<CliResult>> runs;
  for (auto args : commands) {
    args.push_back("--help");
    runs.push_back(std::async(std::launch::async, [&box, args] { return box.run(args); }));
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    auto r = runs[i].get();
    std::string usage = "Usage: llmux " + commands[i][0] + (commands[i].size() > 1 ? " " + commands[i][1] : "");
    EXPECT_EQ(r.exit, 0) << usage;
    EXPECT_TRUE(contains(r.out, usage)) << usage << "\n" << r.all();
  }
}

TEST(CliHelp, ServeHelpShowsItsFlagsAsTheyAreTyped) {
  Sandbox box;
  auto r = box.run({"serve", "--help"});
  ASSERT_EQ(r.exit, 0);
  EXPECT_TRUE(contains(r.out, "--no-discover")) << r.out;
  EXPECT_TRUE(contains(r.out, "--no-watch")) << r.out;
  EXPECT_FALSE(contains(r.out, "{false}")) << r.out;
  EXPECT_FALSE(contains(r.out, "{true}")) << r.out;
}

TEST(CliHelp, UsageErrorsExitWithTwo) {
  Sandbox box;
  EXPECT_EQ(box.run({}).exit, 2);
  EXPECT_EQ(box.run({"frobnicate"}).exit, 2);
  EXPECT_EQ(box.run({"provider", "add", "only-a-name"}).exit, 2);
  EXPECT_EQ(box.run({"provider", "add", "x", "http://h", "--priority", "high"}).exit, 2);
  EXPECT_EQ(box.run({"provider", "add", "x", "http://h", "--auth-type", "magic"}).exit, 2);
}

TEST(CliHelp, CompletionScriptCompletes) {
  Sandbox box;
  auto script = box.run({"completion", "bash"});
  ASSERT_EQ(script.exit, 0);
  EXPECT_TRUE(contains(box.run({"completion", "zsh"}).out, "bashcompinit"));

  ASSERT_EQ(box.run({"provider", "add", "fakeprov", "http://127.0.0.1:9"}).exit, 0);
  ASSERT_EQ(box.run({"prompt", "create", "explain", "x {y}"}).exit, 0);
  std::string script_file = box.dir() + "/llmux.bash";
  write_text(script_file, script.out);
  // Runs the completion function the way bash does for the words typed so far.
  auto complete = [&](const std::string& words) {
    std::string path = box.dir() + "/complete.sh";
    write_text(path, "source '" + script_file + "'\nCOMP_WORDS=(" + words +
                         ")\nCOMP_CWORD=$((${#COMP_WORDS[@]}-1))\n_llmux\necho \"${COMPREPLY[*]}\"\n");
    std::string env;
    for (const auto& e : box.env())
      if (e.rfind("XDG_", 0) == 0 || e.rfind("HOME=", 0) == 0) env += "'" + e + "' ";
    std::string out_path = box.dir() + "/complete.out";
    if (std::system(("env " + env + "bash " + path + " > " + out_path).c_str()) != 0) return std::string("<bash failed>");
    std::string out = read_text(out_path);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  };
  std::string bin = LLMUX_BINARY;
  EXPECT_EQ(complete(bin + " prov"), "provider");
  EXPECT_EQ(complete(bin + " provider inf"), "info");
  EXPECT_EQ(complete(bin + " provider info fak"), "fakeprov");
  EXPECT_EQ(complete(bin + " chat --provider custom:fa"), "custom:fakeprov");
  EXPECT_EQ(complete(bin + " run ex"), "explain");
  EXPECT_EQ(complete(bin + " provider add x http://h --auth-type ap"), "api-key");
  EXPECT_EQ(complete(bin + " provider test x --te"), "--test");
}

}  // namespace
}  // namespace llmux::test
