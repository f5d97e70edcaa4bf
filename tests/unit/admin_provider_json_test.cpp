// The admin API's provider JSON: parsing (full and short form), merge patches, the snake_case
// mapping the store writes, the loader's errors as field errors, masking and ETags.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "admin/provider_json.hpp"
#include "store/provider_store.hpp"
#include "store/yaml_util.hpp"

namespace llmux::admin {
namespace {

namespace bjson = boost::json;

std::string yaml(const YAML::Node& node) { return store::emit_entry("p", node, 0); }

// The loader's verdict on a store holding provider `id` with `settings`.
FieldErrors validate(const std::string& id, const YAML::Node& settings) {
  store::ProviderStore st("/nonexistent/providers.yaml");
  EXPECT_TRUE(st.load_text("", false));
  auto config = load_config_text(st.text_with(id, settings), st.path());
  if (config) return {};
  return field_errors(config.error(), id, settings);
}

TEST(ProviderJson, SeedConfigIsReadWithTheKeySeparatedFromTheSettings) {
  auto in = parse_provider_body(R"({
    "id": "custom_provider_id", "name": "Custom Provider Name", "type": "openai-compatible",
    "baseUrl": "https://your-api.example.com/v1", "apiKey": "sk-your-api-key",
    "models": [{"id": "custom-model-v1", "name": "Custom Model v1", "contextWindow": 8192,
                "pricing": {"input": 0.001, "output": 0.002}}],
    "headers": {"Authorization": "Bearer {api_key}", "User-Agent": "Polydev/1.0"},
    "rateLimit": {"rpm": 60}, "budget": {"daily": 5, "alertThreshold": 0.8}, "timeout": 30000,
    "maxRetries": 1, "enabled": true, "priority": 3})",
                                BodyMode::whole);
  ASSERT_TRUE(in) << joined_message(in.error());
  EXPECT_EQ(in->id, "custom_provider_id");
  ASSERT_TRUE(in->api_key);
  EXPECT_EQ(in->api_key->reveal(), "sk-your-api-key");
  EXPECT_FALSE(in->settings["apiKey"]);
  EXPECT_FALSE(in->settings["id"]);
  EXPECT_TRUE(validate(in->id, in->settings).empty()) << joined_message(validate(in->id, in->settings));

  YAML::Node stored = canonical_settings(in->settings);
  std::string text = yaml(stored);
  EXPECT_NE(text.find("base_url: https://your-api.example.com/v1"), std::string::npos) << text;
  EXPECT_NE(text.find("context_window: 8192"), std::string::npos) << text;
  EXPECT_NE(text.find("alert_threshold: 0.8"), std::string::npos) << text;
  EXPECT_NE(text.find("User-Agent: Polydev/1.0"), std::string::npos) << text;  // header names kept
  EXPECT_EQ(text.find("sk-your-api-key"), std::string::npos) << text;
  EXPECT_TRUE(validate(in->id, stored).empty());
}

TEST(ProviderJson, ClosedPawShortFormMapsTypeTimeoutAndRateLimit) {
  auto in = parse_provider_body(R"({"provider_type": "GOOGLE", "name": "gem", "api_key": "AIza-0123456789",
                                    "base_url": null, "default_model": "gemini-2.0-flash", "timeout": 30,
                                    "rate_limit": 60})",
                                BodyMode::whole);
  ASSERT_TRUE(in) << joined_message(in.error());
  EXPECT_EQ(in->id, "");  // register takes the name as the id
  EXPECT_EQ(in->name, "gem");
  EXPECT_EQ(in->settings["type"].Scalar(), "gemini");
  EXPECT_EQ(in->settings["timeout"].Scalar(), "30s");
  EXPECT_EQ(in->settings["rate_limit"]["rpm"].Scalar(), "60");
  EXPECT_FALSE(in->settings["base_url"]);  // null: not given
  EXPECT_TRUE(validate(in->name, in->settings).empty()) << joined_message(validate(in->name, in->settings));
}

TEST(ProviderJson, BodyProblemsAreAllReportedAtOnce) {
  auto bad_json = parse_provider_body("{\"id\": \"x\",", BodyMode::whole);
  ASSERT_FALSE(bad_json);
  EXPECT_EQ(bad_json.error()[0].field, "");
  EXPECT_NE(bad_json.error()[0].message.find("not valid JSON"), std::string::npos);
  auto array = parse_provider_body("[1]", BodyMode::whole);
  ASSERT_FALSE(array);
  EXPECT_NE(array.error()[0].message.find("got an array"), std::string::npos);
  auto several = parse_provider_body(R"({"id": "bad name", "apiKey": 12, "provider_type": "openai", "type": "x"})",
                                     BodyMode::whole);
  ASSERT_FALSE(several);
  ASSERT_EQ(several.error().size(), 3u) << joined_message(several.error());
  EXPECT_EQ(several.error()[0].field, "apiKey");
  EXPECT_EQ(several.error()[1].field, "provider_type");
  EXPECT_EQ(several.error()[2].field, "id");
  auto newline_key = parse_provider_body(R"({"id": "x", "apiKey": "sk-\r\nX-Evil: 1"})", BodyMode::whole);
  ASSERT_FALSE(newline_key);
  EXPECT_EQ(newline_key.error()[0].field, "apiKey");
}

TEST(ProviderJson, LoaderErrorsNameTheFieldsAsTheClientSpelledThem) {
  auto in = parse_provider_body(R"({"id": "p", "baseUrl": "ftp://nowhere", "colour": "red",
                                    "models": [{"id": "m", "contextWindow": "big"}]})",
                                BodyMode::whole);
  ASSERT_TRUE(in);
  auto errors = validate(in->id, in->settings);
  std::vector<std::string> fields;
  for (const auto& e : errors) fields.push_back(e.field);
  EXPECT_NE(std::find(fields.begin(), fields.end(), "baseUrl"), fields.end()) << joined_message(errors);
  EXPECT_NE(std::find(fields.begin(), fields.end(), "colour"), fields.end()) << joined_message(errors);
  EXPECT_NE(std::find(fields.begin(), fields.end(), "models[0].contextWindow"), fields.end()) << joined_message(errors);
  EXPECT_NE(joined_message(errors).find("colour"), std::string::npos);
}

TEST(ProviderJson, AnEnvironmentReferenceIsASettingNotAKey) {
  auto in = parse_provider_body(R"({"id": "p", "baseUrl": "http://127.0.0.1:1/v1", "apiKey": "${MY_KEY}"})",
                                BodyMode::whole);
  ASSERT_TRUE(in);
  EXPECT_FALSE(in->api_key);
  EXPECT_EQ(in->settings["apiKey"].Scalar(), "${MY_KEY}");
}

TEST(ProviderJson, MergePatchKeepsOtherFieldsRemovesNullsAndMatchesSpellings) {
  YAML::Node base = YAML::Load(
      "base_url: http://a/v1\nmodels: [m1, m2]\nheaders: {X-One: '1', X-Two: '2'}\npriority: 2\n"
      "rate_limit: {rpm: 5, rph: 100}\n");
  auto patch = parse_provider_body(R"({"baseUrl": "http://b/v1", "priority": null, "models": ["m3"],
                                       "headers": {"X-Two": null, "x-one": "lower"}, "rateLimit": {"rpm": 7}})",
                                   BodyMode::patch);
  ASSERT_TRUE(patch);
  YAML::Node merged = merge_settings(base, patch->settings);
  EXPECT_EQ(merged["baseUrl"].Scalar(), "http://b/v1");
  EXPECT_FALSE(merged["base_url"]);
  EXPECT_FALSE(merged["priority"]);
  ASSERT_EQ(merged["models"].size(), 1u);
  EXPECT_EQ(merged["models"][0].Scalar(), "m3");
  // Header names are the user's: matched exactly, so "x-one" is another header.
  EXPECT_EQ(merged["headers"]["X-One"].Scalar(), "1");
  EXPECT_EQ(merged["headers"]["x-one"].Scalar(), "lower");
  EXPECT_FALSE(merged["headers"]["X-Two"]);
  EXPECT_FALSE(merged["rate_limit"]);  // now spelled as the patch spells it
  EXPECT_EQ(merged["rateLimit"]["rpm"].Scalar(), "7");
  EXPECT_EQ(merged["rateLimit"]["rph"].Scalar(), "100");
  auto stored = canonical_settings(merged);
  EXPECT_EQ(stored["base_url"].Scalar(), "http://b/v1");
  auto remove_key = parse_provider_body(R"({"apiKey": null})", BodyMode::patch);
  ASSERT_TRUE(remove_key);
  EXPECT_TRUE(remove_key->remove_api_key);
}

TEST(ProviderJson, MaskingAndEtags) {
  EXPECT_EQ(mask_secret("sk-abcdefgh1234"), "****1234");
  EXPECT_EQ(mask_secret("1234567"), "****");
  EXPECT_EQ(mask_secret("12345678"), "****");
  EXPECT_EQ(mask_secret("123456789"), "****6789");
  EXPECT_EQ(mask_secret(""), "");
  YAML::Node a = YAML::Load("base_url: http://a/v1\n");
  YAML::Node b = YAML::Load("base_url: http://b/v1\n");
  std::string etag = provider_etag(a);
  EXPECT_EQ(etag.size(), 18u);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag, provider_etag(YAML::Load("base_url: http://a/v1\n")));
  EXPECT_NE(etag, provider_etag(b));
}

TEST(ProviderJson, AnswersNeverHoldTheKey) {
  ProviderConfig c;
  c.id = "p";
  c.base_url = "http://a/v1";
  c.api_key = Secret("sk-live-secret-9876");
  c.headers = {{"Authorization", "Bearer sk-live-secret-9876"}, {"X-Token", "tok-abcdefgh"},
               {"X-Ref", "${OTHER}"}, {"User-Agent", "llmux"}};
  c.models.push_back({"m", "m", "", {}, 8192, {}});
  YAML::Node written = YAML::Load("headers: {X-Ref: '${OTHER}'}\n");
  auto o = provider_json({&c, &written, "store", true});
  std::string text = bjson::serialize(o);
  EXPECT_EQ(text.find("sk-live-secret"), std::string::npos) << text;
  EXPECT_EQ(text.find("tok-abcdefgh"), std::string::npos) << text;
  EXPECT_EQ(o.at("apiKey").as_string(), "****9876");
  const auto& headers = o.at("headers").as_array();
  ASSERT_EQ(headers.size(), 4u);
  EXPECT_EQ(headers[0].at("value").as_string(), "Bearer ****9876");
  EXPECT_EQ(headers[1].at("value").as_string(), "****efgh");
  EXPECT_EQ(headers[2].at("value").as_string(), "${OTHER}");
  EXPECT_EQ(headers[3].at("value").as_string(), "llmux");
  EXPECT_EQ(o.at("models").at(0).at("contextWindow").as_int64(), 8192);
  EXPECT_TRUE(o.at("default").as_bool());
}

TEST(ProviderJson, SaysWhetherTheProviderServesTheResponsesApi) {
  ProviderConfig c;
  c.id = "p";
  c.base_url = "http://a/v1";
  YAML::Node written = YAML::Load("base_url: http://a/v1\n");
  EXPECT_FALSE(provider_json({&c, &written, "store", false}).at("responses").as_bool());
  c.apis.responses = true;
  EXPECT_TRUE(provider_json({&c, &written, "store", false}).at("responses").as_bool());
  c.apis.responses.reset();
  c.base_url = "https://api.openai.com/v1";
  EXPECT_TRUE(provider_json({&c, &written, "store", false}).at("responses").as_bool());
}

// drop_params through the admin API: written in camelCase, stored in snake_case, checked by the
// loader at its field, shown back as dropParams.
TEST(ProviderJson, DropParamsAreStoredCheckedAndShown) {
  auto in = parse_provider_body(R"({"id":"gem","type":"gemini","apiKey":"k-000001","dropParams":["user","metadata"]})",
                                BodyMode::whole);
  ASSERT_TRUE(in) << joined_message(in.error());
  YAML::Node stored = canonical_settings(in->settings);
  EXPECT_NE(yaml(stored).find("drop_params"), std::string::npos) << yaml(stored);
  EXPECT_TRUE(validate(in->id, stored).empty()) << joined_message(validate(in->id, stored));
  auto bad = parse_provider_body(R"({"id":"gem","type":"gemini","apiKey":"k-000001","dropParams":["usr"]})", BodyMode::whole);
  ASSERT_TRUE(bad);
  EXPECT_FALSE(validate(bad->id, canonical_settings(bad->settings)).empty());

  ProviderConfig c;
  c.id = "gem";
  c.drop_params = {"user", "metadata"};
  YAML::Node written = YAML::Load("drop_params: [user, metadata]\n");
  EXPECT_EQ(provider_json({&c, &written, "store", false}).at("dropParams"), bjson::parse(R"(["user","metadata"])"));
}

}  // namespace
}  // namespace llmux::admin
