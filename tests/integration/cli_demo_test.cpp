// `make demo` (scripts/demo.sh): the curl lines it prints work when pasted into a shell, and the
// library example it names is built and answers.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_harness.hpp"
#include "harness.hpp"

namespace llmux::test {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    std::string line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return out;
}

TEST(CliDemo, PrintedCurlLinesWorkAsCopied) {
  std::string build_dir = std::filesystem::path(LLMUX_BINARY).parent_path().string();
  Sandbox box;
  auto demo_env = box.env();
  Spawned demo({"/bin/bash", std::string(LLMUX_SOURCE_DIR) + "/scripts/demo.sh", build_dir}, demo_env);
  ASSERT_EQ(demo.wait(std::chrono::seconds(30)), 0) << demo.out() << demo.err();
  auto commands = lines_starting(demo.out(), "$ curl ");
  ASSERT_EQ(commands.size(), 2u) << demo.out();
  for (const auto& line : commands)
    EXPECT_TRUE(contains(line, "-H 'Content-Type: application/json'")) << line;
  EXPECT_TRUE(contains(demo.out(), "\"object\":\"chat.completion\"")) << demo.out();
  EXPECT_TRUE(contains(demo.out(), "data: [DONE]")) << demo.out();
  auto example = lines_starting(demo.out(), "$ " + build_dir + "/llmux-example-chat ");
  ASSERT_EQ(example.size(), 1u) << demo.out();

  // The demo's gateway is gone once it ends: paste its lines against a gateway of the same shape,
  // exactly as printed apart from the address.
  auto fake = start_fake();
  auto gateway = start_gateway("providers:\n  fake:\n    base_url: " + fake.base_url() +
                               "\n    models: [fake-model]\n    default_model: fake-model\n");
  std::string demo_url = commands[0].substr(commands[0].find("http://"));
  demo_url = demo_url.substr(0, demo_url.find("/v1/"));
  for (const auto& line : commands) {
    std::string pasted = line.substr(2);
    pasted.replace(pasted.find(demo_url), demo_url.size(), gateway.url(""));
    Spawned shell({"/bin/bash", "-c", pasted}, demo_env);
    ASSERT_EQ(shell.wait(), 0) << pasted << "\n" << shell.err();
    EXPECT_TRUE(contains(shell.out(), "\"object\":\"chat.completion")) << pasted << "\n" << shell.out();
    EXPECT_FALSE(contains(shell.out(), "\"error\"")) << pasted << "\n" << shell.out();
  }
}

}  // namespace
}  // namespace llmux::test
