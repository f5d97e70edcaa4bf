#include "discovery/defaults.hpp"

#include <curl/curl.h>

#include <boost/json.hpp>
#include <cstdlib>

#include "config/config_internal.hpp"
#include "config/presets.hpp"
#include "providers/provider.hpp"

namespace llmux::discovery {

namespace {

// A hosted OpenAI-compatible service: its URL and key variable are its preset's (config/presets.cpp),
// so `type: groq` in a config and a GROQ_API_KEY found in the environment reach the same place.
KnownService hosted(std::string_view id, const char* default_model) {
  const auto* preset = config_detail::find_preset(id);
  if (!preset) std::abort();  // every id below is a preset's name; a typo must not pass silently
  // The preset's views are literals, so their data() are null-terminated.
  return {preset->name.data(), preset->key_variable.data(), preset->base_url.data(), default_model};
}

}  // namespace

const std::vector<KnownService>& known_services() {
  static const std::vector<KnownService> services = {
      hosted("openai", "gpt-4o-mini"),
      hosted("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
      hosted("groq", "llama-3.1-8b-instant"),
      hosted("mistral", "mistral-small-latest"),
      hosted("openrouter", "openai/gpt-4o-mini"),
      hosted("deepseek", "deepseek-chat"),
      hosted("fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct"),
      hosted("xai", "grok-2-latest"),
      hosted("perplexity", "sonar"),
      {"anthropic", "ANTHROPIC_API_KEY", "https://api.anthropic.com/v1", "claude-haiku-4-5", "anthropic"},
  };
  return services;
}

std::string base_url_variable(const KnownService& service) {
  std::string var = service.env_var;  // "OPENAI_API_KEY"
  constexpr std::string_view kKeySuffix = "_API_KEY";
  if (var.size() > kKeySuffix.size() && var.compare(var.size() - kKeySuffix.size(), kKeySuffix.size(), kKeySuffix) == 0)
    var.resize(var.size() - kKeySuffix.size());
  return var + "_BASE_URL";
}

ProviderConfig service_provider(const KnownService& s, Secret key) {
  ProviderConfig p;
  p.id = s.id;
  p.name = s.id;
  std::string url = s.base_url;
  if (const char* override_url = std::getenv(base_url_variable(s).c_str()); override_url && *override_url)
    url = override_url;  // validated with the rest of the config: an invalid one is an error naming base_url
  auto normalized = normalize_base_url(url);
  p.base_url = normalized ? *normalized : url;
  p.api_key = std::move(key);
  p.type = s.type;
  if (p.type == "anthropic") {  // Anthropic takes its key in its own header
    p.auth = AuthStyle::header;
    p.auth_header = "x-api-key";
  }
  p.default_model = s.default_model;
  return p;
}

std::vector<ProviderConfig> providers_from_environment() {
  std::vector<ProviderConfig> out;
  for (const auto& s : known_services()) {
    const char* key = std::getenv(s.env_var);
    if (!key || !*key) continue;
    ProviderConfig p = service_provider(s, Secret(key));
    p.source.file = std::string("$") + s.env_var;
    out.push_back(std::move(p));
  }
  return out;
}

namespace {

size_t collect(char* data, size_t size, size_t count, void* userp) {
  auto* body = static_cast<std::string*>(userp);
  if (body->size() < (4 << 20)) body->append(data, size * count);
  return size * count;
}

struct Fetch {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  bool direct = false;  // bypass any proxy (local servers)
  long status = 0;
  std::string body;
};

// Runs every GET at once and returns when all have finished or `timeout` has passed.
void fetch_all(std::vector<Fetch>& fetches, std::chrono::milliseconds timeout) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  std::vector<CURL*> handles;
  std::vector<curl_slist*> header_lists;
  for (auto& f : fetches) {
    CURL* easy = curl_easy_init();
    curl_slist* list = nullptr;
    for (const auto& h : f.headers) list = curl_slist_append(list, h.c_str());
    curl_easy_setopt(easy, CURLOPT_URL, f.url.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &collect);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &f.body);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);  // a credential never follows a redirect
    if (f.direct) curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
    curl_multi_add_handle(multi, easy);
    handles.push_back(easy);
    header_lists.push_back(list);
  }
  int running = 1;
  while (running) {
    curl_multi_perform(multi, &running);
    if (running) curl_multi_poll(multi, nullptr, 0, 50, nullptr);
  }
  for (size_t i = 0; i < handles.size(); ++i) {
    curl_easy_getinfo(handles[i], CURLINFO_RESPONSE_CODE, &fetches[i].status);
    curl_multi_remove_handle(multi, handles[i]);
    curl_easy_cleanup(handles[i]);
    curl_slist_free_all(header_lists[i]);
  }
  curl_multi_cleanup(multi);
}


}  // namespace

std::optional<std::vector<std::string>> listed_model_ids(std::string_view body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec) return std::nullopt;
  const boost::json::value* list = &v;
  std::string_view key = "id";
  if (v.is_object()) {
    list = v.as_object().if_contains("data");
    if (!list) {
      list = v.as_object().if_contains("models");
      key = "name";
    }
    if (!list) list = v.as_object().if_contains("publisherModels");  // Vertex AI: publishers/google/models/ID
    if (!list) {  // Bedrock's foundation-models
      list = v.as_object().if_contains("modelSummaries");
      key = "modelId";
    }
  }
  if (!list || !list->is_array()) return std::nullopt;
  std::vector<std::string> ids;
  for (const auto& m : list->as_array()) {
    if (!m.is_object()) continue;
    const auto* id = m.as_object().if_contains(key);
    if (!id || !id->is_string() || id->as_string().empty()) continue;
    std::string_view text = id->as_string();
    if (key == "name" && text.starts_with("publishers/")) text.remove_prefix(text.find("/models/") + 1);
    if (key == "name" && text.starts_with("models/")) text.remove_prefix(7);
    ids.emplace_back(text);
  }
  return ids;
}

std::map<std::string, ModelList> fetch_model_lists(const std::vector<ProviderConfig>& configs,
                                                   std::chrono::milliseconds timeout) {
  std::vector<Fetch> fetches;
  std::vector<std::string> ids;
  for (const auto& c : configs) {
    auto provider = providers::make_provider(c);
    if (!provider) continue;
    auto request = (*provider)->list_models_request();
    fetches.push_back({request.url, request.all_headers(), false, 0, {}});
    ids.push_back(c.id);
  }
  fetch_all(fetches, timeout);
  std::map<std::string, ModelList> lists;
  for (size_t i = 0; i < fetches.size(); ++i) {
    ModelList& list = lists[ids[i]];
    std::string url = config_detail::without_credentials(fetches[i].url);
    if (fetches[i].status == 0) {
      list.error = "no answer from " + url + " within " + std::to_string(timeout.count()) + " ms";
    } else if (fetches[i].status != 200) {
      list.error = url + " answered HTTP " + std::to_string(fetches[i].status);
    } else if (auto listed = listed_model_ids(fetches[i].body); !listed || listed->empty()) {
      list.error = url + " answered without a model list";
    } else {
      list.ids = std::move(*listed);
    }
  }
  return lists;
}

std::vector<ProviderConfig> probe_local_servers(std::chrono::milliseconds timeout) {
  struct Local {
    const char* id;
    const char* name;
    const char* base_url;
  };
  static constexpr Local kLocal[] = {{"ollama", "Ollama (local)", "http://127.0.0.1:11434/v1"},
                                     {"vllm", "vLLM (local)", "http://127.0.0.1:8000/v1"},
                                     {"lmstudio", "LM Studio (local)", "http://127.0.0.1:1234/v1"}};
  std::vector<Fetch> fetches;
  for (const auto& l : kLocal) fetches.push_back({std::string(l.base_url) + "/models", {}, true, 0, {}});
  fetch_all(fetches, timeout);
  std::vector<ProviderConfig> found;
  for (size_t i = 0; i < fetches.size(); ++i) {
    if (fetches[i].status != 200) continue;
    auto listed = listed_model_ids(fetches[i].body);
    if (!listed) continue;
    ProviderConfig c;
    c.id = kLocal[i].id;
    c.name = kLocal[i].name;
    c.base_url = kLocal[i].base_url;
    c.auth = AuthStyle::none;
    c.source.file = std::string("probe of ") + kLocal[i].base_url;
    for (auto& id : *listed) c.models.push_back({.id = std::move(id)});
    if (!c.models.empty()) c.default_model = c.models.front().id;
    found.push_back(std::move(c));
  }
  return found;
}

namespace {

std::string xdg(const char* var, const char* fallback_under_home) {
  if (const char* v = std::getenv(var); v && *v == '/') return std::string(v) + "/llmux";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/" + fallback_under_home + "/llmux";
}

}  // namespace

std::string config_dir() { return xdg("XDG_CONFIG_HOME", ".config"); }
std::string state_dir() { return xdg("XDG_STATE_HOME", ".local/state"); }

}  // namespace llmux::discovery
