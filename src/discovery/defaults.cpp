#include "discovery/defaults.hpp"

#include <curl/curl.h>

#include <boost/json.hpp>
#include <cstdlib>

namespace llmux::discovery {

const std::vector<KnownService>& known_services() {
  static const std::vector<KnownService> services = {
      {"openai", "OPENAI_API_KEY", "https://api.openai.com/v1", "gpt-4o-mini"},
      {"together", "TOGETHER_API_KEY", "https://api.together.xyz/v1", "meta-llama/Llama-3.3-70B-Instruct-Turbo"},
      {"groq", "GROQ_API_KEY", "https://api.groq.com/openai/v1", "llama-3.1-8b-instant"},
      {"mistral", "MISTRAL_API_KEY", "https://api.mistral.ai/v1", "mistral-small-latest"},
      {"openrouter", "OPENROUTER_API_KEY", "https://openrouter.ai/api/v1", "openai/gpt-4o-mini"},
      {"deepseek", "DEEPSEEK_API_KEY", "https://api.deepseek.com/v1", "deepseek-chat"},
      {"fireworks", "FIREWORKS_API_KEY", "https://api.fireworks.ai/inference/v1", "accounts/fireworks/models/llama-v3p1-8b-instruct"},
      {"xai", "XAI_API_KEY", "https://api.x.ai/v1", "grok-2-latest"},
      {"perplexity", "PERPLEXITY_API_KEY", "https://api.perplexity.ai", "sonar"},
      {"anthropic", "ANTHROPIC_API_KEY", "https://api.anthropic.com/v1", "claude-haiku-4-5", "anthropic"},
  };
  return services;
}

ProviderConfig service_provider(const KnownService& s, Secret key) {
  ProviderConfig p;
  p.id = s.id;
  p.name = s.id;
  auto url = normalize_base_url(s.base_url);
  p.base_url = url ? *url : s.base_url;
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
  if (body->size() < (1 << 20)) body->append(data, size * count);
  return size * count;
}

}  // namespace

std::vector<ProviderConfig> probe_local_servers(std::chrono::milliseconds timeout) {
  struct Probe {
    const char* id;
    const char* name;
    const char* base_url;
    std::string body;
    CURL* easy = nullptr;
  };
  std::vector<Probe> probes = {{"ollama", "Ollama (local)", "http://127.0.0.1:11434/v1", {}},
                               {"vllm", "vLLM (local)", "http://127.0.0.1:8000/v1", {}},
                               {"lmstudio", "LM Studio (local)", "http://127.0.0.1:1234/v1", {}}};
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  for (auto& p : probes) {
    p.easy = curl_easy_init();
    std::string url = std::string(p.base_url) + "/models";
    curl_easy_setopt(p.easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(p.easy, CURLOPT_WRITEFUNCTION, &collect);
    curl_easy_setopt(p.easy, CURLOPT_WRITEDATA, &p.body);
    curl_easy_setopt(p.easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(p.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p.easy, CURLOPT_NOPROXY, "*");
    curl_multi_add_handle(multi, p.easy);
  }
  int running = 1;
  while (running) {
    curl_multi_perform(multi, &running);
    if (running) curl_multi_poll(multi, nullptr, 0, 50, nullptr);
  }
  std::vector<ProviderConfig> found;
  for (auto& p : probes) {
    long status = 0;
    curl_easy_getinfo(p.easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(multi, p.easy);
    curl_easy_cleanup(p.easy);
    if (status != 200) continue;
    boost::system::error_code ec;
    auto v = boost::json::parse(p.body, ec);
    if (ec || !v.is_object()) continue;
    const auto* data = v.as_object().if_contains("data");
    if (!data || !data->is_array()) continue;
    ProviderConfig c;
    c.id = p.id;
    c.name = p.name;
    c.base_url = p.base_url;
    c.auth = AuthStyle::none;
    c.source.file = std::string("probe of ") + p.base_url;
    for (const auto& m : data->as_array()) {
      if (!m.is_object()) continue;
      const auto* id = m.as_object().if_contains("id");
      if (id && id->is_string()) {
        ModelConfig model;
        model.id = std::string(id->as_string());
        c.models.push_back(std::move(model));
      }
    }
    if (!c.models.empty()) c.default_model = c.models.front().id;
    found.push_back(std::move(c));
  }
  curl_multi_cleanup(multi);
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
