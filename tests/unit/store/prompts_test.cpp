// Prompt templates: parameters, escapes, missing and unknown parameters, the prompt store file.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "store/prompts.hpp"

namespace llmux::store {
namespace {

TEST(PromptTemplate, FindsParametersInOrderAndKeepsOtherBracesLiteral) {
  PromptTemplate p{"t", "Explain {concept} to {audience}; JSON {\"a\": 1} {{not_a_param}} {concept}", "You are {role}", ""};
  EXPECT_EQ(template_params(p), (std::vector<std::string>{"concept", "audience", "role"}));
  auto out = render_prompt(p, {{"concept", "ML"}, {"audience", "kids"}, {"role", "a teacher"}});
  ASSERT_TRUE(out);
  EXPECT_EQ(out->text, "Explain ML to kids; JSON {\"a\": 1} {not_a_param} ML");
  EXPECT_EQ(out->system, "You are a teacher");
}

TEST(PromptTemplate, MissingAndUnknownParametersAreNamedAllAtOnce) {
  PromptTemplate p{"explain", "Explain this concept: {concept} for {level}", "", ""};
  auto r = render_prompt(p, {{"topic", "x"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().messages,
            (std::vector<std::string>{"unknown parameter 'topic'; prompt 'explain' takes: concept, level",
                                      "missing parameter 'concept' (pass --param concept=VALUE)",
                                      "missing parameter 'level' (pass --param level=VALUE)"}));
  PromptTemplate none{"plain", "no params", "", ""};
  auto u = render_prompt(none, {{"x", "1"}});
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().messages[0], "unknown parameter 'x'; prompt 'plain' takes no parameters");
}

TEST(PromptStoreFile, RoundTripsAndReportsUnknownNames) {
  char dir[] = "/tmp/llmux-prompts-XXXXXX";
  std::string base = ::mkdtemp(dir);
  std::string path = base + "/llmux/prompts.yaml";
  {
    PromptStore store(path);
    ASSERT_TRUE(store.load());
    ASSERT_TRUE(store.put({"explain", "Explain: {concept}", "Be {tone}", "teaching"}));
    ASSERT_TRUE(store.put({"yes", "true", "", ""}));
  }
  PromptStore again(path);
  ASSERT_TRUE(again.load());
  ASSERT_EQ(again.prompts().size(), 2u);
  EXPECT_EQ(again.find("explain")->system, "Be {tone}");
  EXPECT_EQ(again.find("yes")->text, "true");
  auto missing = again.remove("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().messages[0], "Prompt 'nope' not found; known: explain, yes");
  std::filesystem::remove_all(base);
}

}  // namespace
}  // namespace llmux::store
