// The recorded provider traffic of shared/fixtures/providers, read whole for the adapters' tests.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace llmux::providers::test {

// The bytes of `relative` ("bedrock/converse-stream-reasoning.eventstream.bin"), as recorded.
inline std::string fixture_file(const std::string& relative) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << relative;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace llmux::providers::test
