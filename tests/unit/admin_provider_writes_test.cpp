// The admin API's provider writes over a temporary provider store, vault and config file, with a
// test AdminContext whose apply() assembles them the way `llmux serve` does.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <filesystem>
#include <mutex>

#include "admin/audit_log.hpp"
#include "admin/provider_writes.hpp"
#include "server/gateway_state.hpp"
#include "store/files.hpp"
#include "store/prompts.hpp"
#include "store/provider_store.hpp"
#include "store/sources.hpp"
#include "store/vault.hpp"

namespace llmux::admin {
namespace {

namespace bjson = boost::json;
using boost::beast::http::verb;

constexpr const char* kConfig =
    "providers:\n"
    "  fixed:\n"
    "    base_url: http://127.0.0.1:9/v1\n"
    "    models: [fixed-model]\n";

class TestContext : public AdminContext {
 public:
  explicit TestContext(std::string root)
      : paths_{root + "/config/llmux", root + "/state/llmux"},
        config_file_(root + "/config.yaml"),
        audit_(root + "/state/llmux/audit.log") {
    std::filesystem::create_directories(paths_.config_dir);
    std::filesystem::create_directories(paths_.state_dir);
    EXPECT_TRUE(store::write_file_atomic(config_file_, kConfig));
    auto applied = apply();
    EXPECT_TRUE(applied);
  }

  std::shared_ptr<const server::GatewayState> state() const override {
    std::lock_guard lock(mutex_);
    return state_;
  }
  const store::Paths& paths() const override { return paths_; }
  Expected<void, std::vector<std::string>> apply() override {
    std::lock_guard lock(mutex_);
    ++applies;
    store::SourceOptions options;
    options.config_file = config_file_;
    options.discover = false;
    auto sources = store::assemble(paths_, options);
    if (!sources) return unexpected(sources.error().messages);
    auto built = server::GatewayState::build(sources->config);
    if (!built) return unexpected(built.error());
    if (refuse_next_apply) {
      refuse_next_apply = false;
      return unexpected(std::vector<std::string>{"refused by the test"});
    }
    registry_.bind(**built);
    state_ = *built;
    origins_ = sources->origins;
    return {};
  }
  governance::VirtualKeys* virtual_keys() override { return nullptr; }
  storage::UsageLedger* ledger() override { return nullptr; }
  AuditLog& audit() override { return audit_; }
  std::optional<store::ProviderOrigin> origin_of(std::string_view provider) const override {
    std::lock_guard lock(mutex_);
    auto it = origins_.find(std::string(provider));
    if (it == origins_.end()) return std::nullopt;
    return it->second;
  }

  const ProviderConfig* served(const std::string& id) const {
    for (const auto& p : state()->config.providers)
      if (p.id == id) return &p;
    return nullptr;
  }
  std::string audit_text() const {
    auto text = store::read_file(audit_.path());
    return text && *text ? **text : std::string();
  }
  std::string store_text() const {
    auto text = store::read_file(paths_.providers());
    return text && *text ? **text : std::string();
  }

  int applies = 0;
  bool refuse_next_apply = false;

 private:
  store::Paths paths_;
  std::string config_file_;
  AuditLog audit_;
  mutable std::mutex mutex_;
  server::RouterRegistry registry_;
  std::shared_ptr<const server::GatewayState> state_;
  std::map<std::string, store::ProviderOrigin> origins_;
};

class ProviderWrites : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/llmux-admin-writes-XXXXXX";
    root_ = ::mkdtemp(dir);
    ::setenv("LLMUX_MASTER_KEY", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    context_ = std::make_unique<TestContext>(root_);
  }
  void TearDown() override {
    context_.reset();
    ::unsetenv("LLMUX_MASTER_KEY");
    std::filesystem::remove_all(root_);
  }

  AdminRequest request(verb method, std::string body, std::vector<std::string> params = {}, std::string query = {}) {
    AdminRequest r;
    r.method = method;
    r.body = std::move(body);
    r.params = std::move(params);
    r.query = std::move(query);
    r.admin_id = "admin-key …test";
    return r;
  }

  AdminAnswer register_body(const std::string& body, const std::string& query = {}) {
    return register_provider(*context_, request(verb::post, body, {}, query));
  }

  static bjson::object json(const AdminAnswer& a) { return bjson::parse(a.body).as_object(); }
  static std::string header(const AdminAnswer& a, const std::string& name) {
    size_t at = a.headers.find(name + ": ");
    if (at == std::string::npos) return {};
    size_t end = a.headers.find("\r\n", at);
    return a.headers.substr(at + name.size() + 2, end - at - name.size() - 2);
  }

  std::string root_;
  std::unique_ptr<TestContext> context_;
};

constexpr const char* kSeedProvider = R"({
  "id": "seeded", "name": "Seeded Provider", "type": "openai-compatible",
  "baseUrl": "http://127.0.0.1:9/v1", "apiKey": "sk-admin-secret-4321",
  "models": [{"id": "seed-model", "name": "Seed Model", "contextWindow": 8192,
              "pricing": {"input": 0.001, "output": 0.002}}],
  "defaultModel": "seed-model", "priority": 5, "headers": {"User-Agent": "Polydev/1.0"}})";

TEST_F(ProviderWrites, RegisterWritesTheStoreAndTheVaultAndServesTheProvider) {
  auto a = register_body(kSeedProvider);
  ASSERT_EQ(a.status, 201) << a.body;
  EXPECT_EQ(header(a, "Location"), "/api/providers/seeded");
  EXPECT_FALSE(header(a, "ETag").empty());
  EXPECT_EQ(a.body.find("sk-admin-secret"), std::string::npos) << a.body;
  EXPECT_EQ(json(a).at("provider").at("apiKey").as_string(), "****4321");
  const ProviderConfig* served = context_->served("seeded");
  ASSERT_NE(served, nullptr);
  EXPECT_EQ(served->api_key.reveal(), "sk-admin-secret-4321");  // from the vault
  EXPECT_EQ(served->priority, 5);
  std::string text = context_->store_text();
  EXPECT_NE(text.find("base_url: http://127.0.0.1:9/v1"), std::string::npos) << text;
  EXPECT_EQ(text.find("sk-admin-secret"), std::string::npos) << text;
  store::Vault vault(context_->paths());
  ASSERT_TRUE(vault.load());
  EXPECT_TRUE(vault.contains("seeded"));
  std::string audit = context_->audit_text();
  EXPECT_NE(audit.find("\"provider.register\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"apiKey\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"baseUrl\""), std::string::npos) << audit;
  EXPECT_EQ(audit.find("sk-admin-secret"), std::string::npos) << audit;
}

TEST_F(ProviderWrites, ShortFormRegisters) {
  auto a = register_body(R"({"provider_type": "openai", "name": "paw", "api_key": "sk-paw-12345678",
                             "base_url": "http://127.0.0.1:9/v1", "default_model": "gpt-4o-mini"})");
  ASSERT_EQ(a.status, 201) << a.body;
  ASSERT_NE(context_->served("paw"), nullptr);
  EXPECT_EQ(context_->served("paw")->default_model, "gpt-4o-mini");
}

TEST_F(ProviderWrites, InvalidBodiesGetEveryProblemAndWriteNothing) {
  auto a = register_body(R"({"id": "bad", "baseUrl": "ftp://x", "colour": "red", "models": [{"contextWindow": "big"}]})");
  ASSERT_EQ(a.status, 400) << a.body;
  auto error = json(a).at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), "invalid_provider_config");
  std::vector<std::string> fields;
  for (const auto& e : error.at("errors").as_array()) fields.push_back(std::string(e.at("field").as_string()));
  for (const char* f : {"baseUrl", "colour", "models[0].contextWindow"})
    EXPECT_NE(std::find(fields.begin(), fields.end(), f), fields.end()) << f << " in " << a.body;
  EXPECT_EQ(context_->store_text(), "");
  EXPECT_EQ(register_body("{not json").status, 400);
  EXPECT_EQ(register_body(R"({"baseUrl": "http://127.0.0.1:9/v1"})").status, 400);  // no id
  EXPECT_EQ(context_->audit_text(), "");
}

TEST_F(ProviderWrites, DuplicatesAndConfigFileProvidersAreConflicts) {
  ASSERT_EQ(register_body(kSeedProvider).status, 201);
  auto again = register_body(kSeedProvider);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(json(again).at("error").at("code").as_string(), "provider_exists");
  auto fixed = register_body(R"({"id": "fixed", "baseUrl": "http://127.0.0.1:9/v1"})");
  EXPECT_EQ(fixed.status, 409) << fixed.body;
  for (auto* endpoint : {&patch_provider, &put_provider}) {
    auto a = endpoint(*context_, request(verb::patch, R"({"priority": 1})", {"fixed"}));
    EXPECT_EQ(a.status, 409) << a.body;
    EXPECT_EQ(json(a).at("error").at("code").as_string(), "provider_read_only");
    EXPECT_NE(a.body.find("config.yaml"), std::string::npos) << a.body;
  }
  EXPECT_EQ(delete_provider(*context_, request(verb::delete_, "", {"fixed"})).status, 409);
  EXPECT_EQ(disable_provider(*context_, request(verb::post, "", {"fixed"})).status, 409);
  EXPECT_EQ(delete_provider(*context_, request(verb::delete_, "", {"nope"})).status, 404);
}

TEST_F(ProviderWrites, DryRunValidatesAndWritesNothing) {
  int applies = context_->applies;
  auto a = register_body(kSeedProvider, "dry_run=true");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(json(a).at("dryRun").as_bool());
  EXPECT_EQ(json(a).at("provider").at("apiKey").as_string(), "****4321");
  EXPECT_EQ(a.body.find("sk-admin-secret"), std::string::npos);
  EXPECT_EQ(context_->store_text(), "");
  EXPECT_EQ(context_->applies, applies);
  EXPECT_FALSE(std::filesystem::exists(context_->paths().vault()));
  EXPECT_EQ(register_body(R"({"id": "x", "baseUrl": "nope"})", "dry_run=true").status, 400);
}

TEST_F(ProviderWrites, PatchMergesAndIfMatchGuardsAgainstLostUpdates) {
  auto created = register_body(kSeedProvider);
  ASSERT_EQ(created.status, 201);
  std::string etag = header(created, "ETag");
  auto stale_req = request(verb::patch, R"({"priority": 9})", {"seeded"});
  stale_req.if_match = "\"0000000000000000\"";
  auto stale = patch_provider(*context_, stale_req);
  EXPECT_EQ(stale.status, 412) << stale.body;
  EXPECT_EQ(json(stale).at("error").at("code").as_string(), "etag_mismatch");
  auto ok_req = request(verb::patch, R"({"priority": 9, "headers": {"X-Extra": "1"}})", {"seeded"});
  ok_req.if_match = etag;
  auto ok = patch_provider(*context_, ok_req);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(header(ok, "ETag"), etag);
  const ProviderConfig* served = context_->served("seeded");
  ASSERT_NE(served, nullptr);
  EXPECT_EQ(served->priority, 9);
  EXPECT_EQ(served->default_model, "seed-model");  // kept
  EXPECT_EQ(served->api_key.reveal(), "sk-admin-secret-4321");  // kept
  EXPECT_EQ(served->headers.size(), 2u);
  // The old ETag is stale now.
  auto again = patch_provider(*context_, ok_req);
  EXPECT_EQ(again.status, 412);
  EXPECT_NE(context_->audit_text().find("\"provider.update\""), std::string::npos);
}

TEST_F(ProviderWrites, PutReplacesButKeepsTheKeyUnlessGiven) {
  ASSERT_EQ(register_body(kSeedProvider).status, 201);
  auto a = put_provider(*context_, request(verb::put, R"({"baseUrl": "http://127.0.0.2:9/v1"})", {"seeded"}));
  ASSERT_EQ(a.status, 200) << a.body;
  const ProviderConfig* served = context_->served("seeded");
  ASSERT_NE(served, nullptr);
  EXPECT_TRUE(served->models.empty());
  EXPECT_EQ(served->api_key.reveal(), "sk-admin-secret-4321");
  // A display name is not an id: it does not rename the provider (even when it is no valid id).
  auto display = patch_provider(*context_, request(verb::patch, R"({"name": "Seeded, renamed"})", {"seeded"}));
  ASSERT_EQ(display.status, 200) << display.body;
  EXPECT_EQ(context_->served("seeded")->name, "Seeded, renamed");
  auto bad_short = register_body(R"({"provider_type": "openai", "name": "no spaces allowed", "base_url": "http://a/v1"})");
  EXPECT_EQ(bad_short.status, 400) << bad_short.body;
  auto renamed = put_provider(*context_, request(verb::put, R"({"id": "other", "baseUrl": "http://a/v1"})", {"seeded"}));
  EXPECT_EQ(renamed.status, 400);
  auto rekey = patch_provider(*context_, request(verb::patch, R"({"apiKey": "sk-new-key-8888"})", {"seeded"}));
  ASSERT_EQ(rekey.status, 200);
  EXPECT_EQ(context_->served("seeded")->api_key.reveal(), "sk-new-key-8888");
}

TEST_F(ProviderWrites, EnableDisableDefaultAndDelete) {
  ASSERT_EQ(register_body(kSeedProvider).status, 201);
  auto off = disable_provider(*context_, request(verb::post, "", {"seeded"}));
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_FALSE(context_->served("seeded")->enabled);
  EXPECT_FALSE(json(off).at("provider").at("enabled").as_bool());
  ASSERT_EQ(enable_provider(*context_, request(verb::post, "", {"seeded"})).status, 200);
  EXPECT_TRUE(context_->served("seeded")->enabled);
  auto def = set_default_provider(*context_, request(verb::post, "", {"seeded"}));
  ASSERT_EQ(def.status, 200) << def.body;
  auto settings = store::Settings::load(context_->paths().settings());
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->default_provider, "seeded");
  EXPECT_EQ(set_default_provider(*context_, request(verb::post, "", {"fixed"})).status, 200);  // any provider
  EXPECT_EQ(set_default_provider(*context_, request(verb::post, "", {"nope"})).status, 404);
  ASSERT_EQ(set_default_provider(*context_, request(verb::post, "", {"seeded"})).status, 200);
  auto gone = delete_provider(*context_, request(verb::delete_, "", {"seeded"}));
  ASSERT_EQ(gone.status, 200) << gone.body;
  EXPECT_EQ(json(gone).at("deleted").as_string(), "seeded");
  EXPECT_EQ(context_->served("seeded"), nullptr);
  store::Vault vault(context_->paths());
  ASSERT_TRUE(vault.load());
  EXPECT_FALSE(vault.contains("seeded"));
  EXPECT_EQ(store::Settings::load(context_->paths().settings())->default_provider, "");
  std::string audit = context_->audit_text();
  for (const char* action : {"provider.disable", "provider.enable", "provider.default", "provider.delete"})
    EXPECT_NE(audit.find(action), std::string::npos) << action;
}

TEST_F(ProviderWrites, AChangeTheGatewayRefusesIsRolledBack) {
  ASSERT_EQ(register_body(kSeedProvider).status, 201);
  std::string before = context_->store_text();
  context_->refuse_next_apply = true;
  auto a = patch_provider(*context_, request(verb::patch, R"({"priority": 7, "apiKey": "sk-rolled-back-1"})", {"seeded"}));
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_NE(a.body.find("refused by the test"), std::string::npos);
  EXPECT_EQ(context_->store_text(), before);
  EXPECT_EQ(context_->served("seeded")->priority, 5);
  store::Vault vault(context_->paths());
  ASSERT_TRUE(vault.load());
  EXPECT_EQ(vault.get("seeded")->reveal(), "sk-admin-secret-4321");
}

}  // namespace
}  // namespace llmux::admin
