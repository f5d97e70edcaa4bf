#include "corpus.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include <boost/json.hpp>

namespace llmux::bench {

namespace {

Corpus g_corpus;

std::string read_fixture(const std::string& relative) {
  std::string path = std::string(LLMUX_FIXTURES_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read fixture " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t count_data_lines(std::string_view sse) {
  size_t n = 0;
  for (size_t pos = 0; pos < sse.size();) {
    size_t end = sse.find('\n', pos);
    if (end == std::string_view::npos) end = sse.size();
    if (sse.substr(pos, 5) == "data:") ++n;
    pos = end + 1;
  }
  return n;
}

// Payload of the last "data:" line that mentions "usage" (the final chunk of an OpenAI stream
// with stream_options.include_usage).
std::string usage_chunk(std::string_view sse) {
  std::string found;
  for (size_t pos = 0; pos < sse.size();) {
    size_t end = sse.find('\n', pos);
    if (end == std::string_view::npos) end = sse.size();
    std::string_view line = sse.substr(pos, end - pos);
    if (line.substr(0, 6) == "data: " && line.find("\"usage\":{") != std::string_view::npos)
      found = std::string(line.substr(6));
    pos = end + 1;
  }
  if (found.empty()) throw std::runtime_error("no usage chunk in the OpenAI stream fixture");
  return found;
}

// First text block of a recorded Anthropic request ("messages"[0].content[0].text).
std::string anthropic_prompt(const std::string& relative) {
  auto v = boost::json::parse(read_fixture(relative));
  return std::string(v.at("messages").at(0).at("content").at(0).at("text").as_string());
}

// The recorded request with `history` user/assistant turns before its own message, grown until
// its compact serialisation is at least `min_bytes` long.
std::string with_history(const boost::json::object& request, const std::vector<std::string>& user_prompts,
                         const std::string& assistant_answer, size_t min_bytes) {
  boost::json::object out = request;
  const boost::json::array original = request.at("messages").as_array();
  for (size_t turns = 1;; ++turns) {
    boost::json::array messages;
    for (size_t i = 0; i < turns; ++i) {
      messages.push_back({{"content", user_prompts[i % user_prompts.size()]}, {"role", "user"}});
      messages.push_back({{"content", assistant_answer}, {"role", "assistant"}});
    }
    for (const auto& m : original) messages.push_back(m);
    out["messages"] = std::move(messages);
    std::string text = boost::json::serialize(out);
    if (text.size() >= min_bytes) return text;
  }
}

struct ProviderSpec {
  const char* id;
  const char* base_url;
  int priority;
  std::vector<const char*> models;
};

std::vector<ProviderSpec> provider_specs() {
  return {
      {"ollama", "http://127.0.0.1:11434/v1", 0,
       {"llama3.1", "llama3.1:70b", "llama3.2", "llama3.2:1b", "llama3.3", "qwen2.5", "qwen2.5:14b",
        "qwen2.5-coder", "qwen3", "qwen3:30b", "mistral", "mistral-nemo", "mixtral", "gemma2", "gemma3",
        "gemma3:27b", "phi3", "phi4", "deepseek-r1", "deepseek-r1:32b", "nomic-embed-text", "codellama"}},
      {"openai", "https://api.openai.com/v1", 1,
       {"gpt-4o", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "gpt-4o-mini", "gpt-4o-mini-2024-07-18",
        "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4-turbo", "gpt-3.5-turbo", "o1", "o1-mini", "o3",
        "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano", "text-embedding-3-small",
        "text-embedding-3-large"}},
      {"together", "https://api.together.xyz/v1", 2,
       {"meta-llama/Llama-3.3-70B-Instruct-Turbo", "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
        "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo", "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo",
        "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", "meta-llama/Llama-4-Scout-17B-16E-Instruct",
        "mistralai/Mixtral-8x7B-Instruct-v0.1", "mistralai/Mistral-7B-Instruct-v0.3",
        "mistralai/Mistral-Small-24B-Instruct-2501", "Qwen/Qwen2.5-72B-Instruct-Turbo",
        "Qwen/Qwen2.5-7B-Instruct-Turbo", "Qwen/Qwen2.5-Coder-32B-Instruct", "Qwen/QwQ-32B",
        "Qwen/Qwen3-235B-A22B-fp8-tput", "deepseek-ai/DeepSeek-V3", "deepseek-ai/DeepSeek-R1",
        "deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "google/gemma-2-27b-it", "google/gemma-3-27b-it",
        "nvidia/Llama-3.1-Nemotron-70B-Instruct-HF"}},
      {"groq", "https://api.groq.com/openai/v1", 3,
       {"llama-3.3-70b-versatile", "llama-3.1-8b-instant", "llama3-70b-8192", "llama3-8b-8192",
        "meta-llama/llama-4-scout-17b-16e-instruct", "meta-llama/llama-4-maverick-17b-128e-instruct",
        "meta-llama/llama-guard-4-12b", "gemma2-9b-it", "mixtral-8x7b-32768", "qwen-qwq-32b",
        "qwen/qwen3-32b", "deepseek-r1-distill-llama-70b", "moonshotai/kimi-k2-instruct",
        "openai/gpt-oss-120b", "openai/gpt-oss-20b", "whisper-large-v3", "whisper-large-v3-turbo",
        "distil-whisper-large-v3-en", "allam-2-7b", "compound-beta"}},
      {"mistral", "https://api.mistral.ai/v1", 4,
       {"mistral-large-latest", "mistral-large-2411", "mistral-medium-latest", "mistral-medium-2505",
        "mistral-small-latest", "mistral-small-2503", "ministral-8b-latest", "ministral-3b-latest",
        "open-mistral-nemo", "open-mistral-7b", "open-mixtral-8x7b", "open-mixtral-8x22b",
        "codestral-latest", "codestral-2501", "pixtral-large-latest", "pixtral-12b-2409",
        "magistral-medium-latest", "magistral-small-latest", "mistral-embed", "mistral-moderation-latest"}},
      {"openrouter", "https://openrouter.ai/api/v1", 5,
       {"anthropic/claude-3.5-sonnet", "anthropic/claude-3.7-sonnet", "anthropic/claude-sonnet-4",
        "anthropic/claude-opus-4", "anthropic/claude-3.5-haiku", "google/gemini-2.5-pro",
        "google/gemini-2.5-flash", "google/gemini-2.0-flash-001", "openai/gpt-4o", "openai/gpt-4o-mini",
        "meta-llama/llama-3.3-70b-instruct", "meta-llama/llama-4-maverick", "mistralai/mistral-large",
        "deepseek/deepseek-chat", "deepseek/deepseek-r1", "qwen/qwen-2.5-72b-instruct", "x-ai/grok-3",
        "x-ai/grok-3-mini", "cohere/command-r-plus", "nousresearch/hermes-3-llama-3.1-405b"}},
      {"fireworks", "https://api.fireworks.ai/inference/v1", 6,
       {"accounts/fireworks/models/llama-v3p3-70b-instruct", "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "accounts/fireworks/models/llama-v3p1-70b-instruct", "accounts/fireworks/models/llama-v3p1-405b-instruct",
        "accounts/fireworks/models/llama4-maverick-instruct-basic",
        "accounts/fireworks/models/llama4-scout-instruct-basic", "accounts/fireworks/models/mixtral-8x7b-instruct",
        "accounts/fireworks/models/mixtral-8x22b-instruct", "accounts/fireworks/models/qwen2p5-72b-instruct",
        "accounts/fireworks/models/qwen2p5-coder-32b-instruct", "accounts/fireworks/models/qwen3-235b-a22b",
        "accounts/fireworks/models/qwq-32b", "accounts/fireworks/models/deepseek-v3",
        "accounts/fireworks/models/deepseek-r1", "accounts/fireworks/models/deepseek-r1-basic",
        "accounts/fireworks/models/firefunction-v2", "accounts/fireworks/models/gemma2-9b-it",
        "accounts/fireworks/models/phi-3-vision-128k-instruct", "accounts/fireworks/models/yi-large",
        "accounts/fireworks/models/kimi-k2-instruct"}},
      {"xai", "https://api.x.ai/v1", 7,
       {"grok-4", "grok-4-0709", "grok-3", "grok-3-mini", "grok-3-fast", "grok-3-mini-fast", "grok-2-1212",
        "grok-2-vision-1212", "grok-beta", "grok-vision-beta", "grok-code-fast-1"}},
      {"perplexity", "https://api.perplexity.ai/v1", 8,
       {"sonar", "sonar-pro", "sonar-reasoning", "sonar-reasoning-pro", "sonar-deep-research", "r1-1776"}},
      {"deepseek", "https://api.deepseek.com/v1", 9, {"deepseek-chat", "deepseek-reasoner"}},
  };
}

void build_catalog(Corpus& c) {
  for (const auto& spec : provider_specs()) {
    ProviderConfig config;
    config.id = spec.id;
    config.base_url = spec.base_url;
    config.priority = spec.priority;
    if (config.id != "ollama") config.api_key = Secret("sk-bench-" + config.id + "-0123456789abcdef");
    for (const char* m : spec.models) config.models.push_back({.id = m});
    config.default_model = config.models.front().id;
    for (auto& m : config.models) {
      if (m.id == "gpt-4o-mini") m.aliases = {"4o-mini", "mini"};
      if (m.id == "gpt-4o") m.aliases = {"4o"};
      if (m.id == "mistralai/Mixtral-8x7B-Instruct-v0.1") m.aliases = {"mixtral-8x7b"};
      if (m.id == "meta-llama/Llama-3.3-70B-Instruct-Turbo") m.aliases = {"llama-3.3-70b"};
      if (m.id == "llama3.1") m.upstream_id = "llama3.1:8b";
    }
    auto provider = providers::make_provider(config);
    if (!provider) throw std::runtime_error(provider.error());
    c.providers.push_back(std::move(provider.value()));
  }
  c.catalog = std::make_unique<router::ModelCatalog>(c.providers);
}

}  // namespace

const Corpus& corpus() { return g_corpus; }

void load_corpus() {
  Corpus& c = g_corpus;
  auto request = boost::json::parse(read_fixture("openai/chat-stream-tool-call-obfuscation.request.json")).as_object();
  c.chat_small = boost::json::serialize(request);

  std::vector<std::string> prompts = {
      std::string(request.at("messages").at(0).at("content").as_string()),
      anthropic_prompt("anthropic/stream-tool-use-two-calls.request.json"),
      anthropic_prompt("anthropic/stream-server-tool-input-json-delta.request.json"),
      anthropic_prompt("anthropic/stream-text.request.json"),
  };
  c.openai_response = read_fixture("openai/chat-nonstream.json");
  auto response = boost::json::parse(c.openai_response);
  std::string answer(response.at("choices").at(0).at("message").at("content").as_string());
  c.chat_medium = with_history(request, prompts, answer, 4 * 1024);
  c.chat_large = with_history(request, prompts, answer, 64 * 1024);

  c.openai_sse = read_fixture("openai/chat-stream-text-usage.sse.txt");
  c.anthropic_sse = read_fixture("anthropic/stream-after-tool-result.sse.txt");
  c.openai_sse_events = count_data_lines(c.openai_sse);
  c.anthropic_sse_events = count_data_lines(c.anthropic_sse);
  c.openai_final_chunk = usage_chunk(c.openai_sse);
  c.openai_error_404 = read_fixture("openai/error-404-model-not-found.json");
  c.anthropic_response = read_fixture("anthropic/messages-nonstream.json");

  build_catalog(c);
}

}  // namespace llmux::bench
