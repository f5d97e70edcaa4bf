#include "router/model_catalog.hpp"

#include <gtest/gtest.h>

namespace llmux::router {
namespace {

std::vector<std::unique_ptr<providers::Provider>> make(std::vector<ProviderConfig> configs) {
  std::vector<std::unique_ptr<providers::Provider>> out;
  for (auto& c : configs) out.push_back(std::move(providers::make_provider(c).value()));
  return out;
}

ProviderConfig provider(std::string id, std::vector<std::string> models, int priority = 0) {
  ProviderConfig p;
  p.id = std::move(id);
  p.base_url = "http://127.0.0.1:9/v1";
  p.priority = priority;
  for (auto& m : models) p.models.push_back({.id = m});
  if (!p.models.empty()) p.default_model = p.models.front().id;
  return p;
}

class ModelCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto together = provider("together", {"mistralai/Mixtral-8x7B-Instruct-v0.1", "shared"}, 2);
    together.models[0].aliases = {"mixtral"};
    auto local = provider("local", {"llama3.1", "shared"}, 1);
    local.models[0].upstream_id = "llama3.1:8b";
    auto open = provider("open", {});  // lists nothing: any model passes through
    open.default_model = "gpt-4o-mini";
    auto off = provider("off", {"hidden"});
    off.enabled = false;
    providers_ = make({together, local, open, off});
    catalog_ = std::make_unique<ModelCatalog>(providers_);
  }
  std::vector<std::unique_ptr<providers::Provider>> providers_;
  std::unique_ptr<ModelCatalog> catalog_;
};

TEST_F(ModelCatalogTest, ProviderPrefixSplitsAtFirstSlashOnlyForKnownProviders) {
  auto r = catalog_->resolve("together/mistralai/Mixtral-8x7B-Instruct-v0.1", "");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->provider->id(), "together");
  EXPECT_EQ(r->upstream_model, "mistralai/Mixtral-8x7B-Instruct-v0.1");
  // "mistralai" is not a provider, so this is a bare id.
  auto bare = catalog_->resolve("mistralai/Mixtral-8x7B-Instruct-v0.1", "");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->provider->id(), "together");
}

TEST_F(ModelCatalogTest, BareIdsAliasesAndUpstreamIds) {
  EXPECT_EQ(catalog_->resolve("mixtral", "")->upstream_model, "mistralai/Mixtral-8x7B-Instruct-v0.1");
  auto llama = catalog_->resolve("llama3.1", "");
  EXPECT_EQ(llama->provider->id(), "local");
  EXPECT_EQ(llama->upstream_model, "llama3.1:8b");
  // Two providers list "shared": the lower priority number wins.
  EXPECT_EQ(catalog_->resolve("shared", "")->provider->id(), "local");
}

TEST_F(ModelCatalogTest, ProviderOnlyUsesDefaultModel) {
  EXPECT_EQ(catalog_->resolve("local", "")->upstream_model, "llama3.1:8b");
  EXPECT_EQ(catalog_->resolve("open", "")->upstream_model, "gpt-4o-mini");
  EXPECT_EQ(catalog_->resolve("", "open")->upstream_model, "gpt-4o-mini");
}

TEST_F(ModelCatalogTest, HeaderPinsProviderAndPassThroughWhenUnlisted) {
  auto r = catalog_->resolve("anything-new", "open");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->upstream_model, "anything-new");
  EXPECT_EQ(r->model, nullptr);
  EXPECT_EQ(catalog_->resolve("open/anything-new", "open")->upstream_model, "anything-new");
  auto shared = catalog_->resolve("shared", "together");
  EXPECT_EQ(shared->provider->id(), "together");
}

TEST_F(ModelCatalogTest, UnknownModelsGet404WithCloseMatches) {
  auto r = catalog_->resolve("llama3.2", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().http_status, 404);
  EXPECT_NE(r.error().message.find("llama3.1"), std::string::npos) << r.error().message;
  auto under = catalog_->resolve("local/gpt", "");
  ASSERT_FALSE(under);
  EXPECT_NE(under.error().message.find("llama3.1, shared"), std::string::npos) << under.error().message;
}

TEST_F(ModelCatalogTest, DisabledProvidersAreNotServedOrListed) {
  EXPECT_FALSE(catalog_->resolve("hidden", ""));
  EXPECT_FALSE(catalog_->resolve("off/hidden", ""));
  for (const auto& m : catalog_->models()) EXPECT_NE(m.owned_by, "off");
  EXPECT_EQ(catalog_->models().front().owned_by, "local");  // priority 1 lists before 2
}

TEST_F(ModelCatalogTest, UnknownProviderHeaderIs404) {
  auto r = catalog_->resolve("x", "nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().http_status, 404);
  // Lists the providers a client can use, sorted; never a disabled one.
  EXPECT_NE(r.error().message.find("known: local, open, together"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("off"), std::string::npos) << r.error().message;
}

// "model": "PROVIDER" names a provider; without a default model the answer says so and how to
// name one of its models, instead of "no model given".
TEST(ModelCatalogProviderAsModel, SaysItIsAProviderAndShowsHowToNameItsModels) {
  auto listed = provider("lab", {"m1", "m2", "m3", "m4"});
  listed.default_model.clear();
  auto open = provider("open", {});
  auto providers = make({listed, open});
  ModelCatalog catalog(providers);

  auto r = catalog.resolve("lab", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_EQ(r.error().param, "model");
  EXPECT_EQ(r.error().message,
            "'lab' is a provider, not a model, and it has no default_model: name one of its models, e.g. "
            "lab/m1, lab/m2, lab/m3 (4 in all, see GET /v1/models)");
  EXPECT_EQ(r.error().message.find("no model given"), std::string::npos);

  auto pass = catalog.resolve("open", "");
  ASSERT_FALSE(pass);
  EXPECT_EQ(pass.error().message,
            "'open' is a provider, not a model, and it has no default_model: name the model as open/MODEL "
            "(it passes any model name through)");
  // Only the header naming the provider, no model at all: that is "no model given".
  auto header_only = catalog.resolve("", "lab");
  ASSERT_FALSE(header_only);
  EXPECT_NE(header_only.error().message.find("no model given"), std::string::npos);
}

}  // namespace
}  // namespace llmux::router

namespace llmux::router {
namespace {

TEST_F(ModelCatalogTest, VeryLongUnknownNamesGetNoSuggestions) {
  auto r = catalog_->resolve(std::string(4096, 'x'), "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().http_status, 404);
  EXPECT_EQ(r.error().message.find("did you mean"), std::string::npos);
  EXPECT_TRUE(catalog_->close_matches(std::string(129, 'l')).empty());
  EXPECT_FALSE(catalog_->close_matches("LLAMA3.2").empty());  // case-insensitive
}

}  // namespace
}  // namespace llmux::router
