// Using llmux as a library: register a provider, chat plainly and with streaming (typed events),
// offer a tool, list models, check health, close.
//
//   llmux-example-chat BASE_URL MODEL "prompt" [API_KEY]
//   e.g. llmux-example-chat http://127.0.0.1:11434/v1 llama3.1 "Why is the sky blue?"
#include <llmux/client.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s BASE_URL MODEL PROMPT [API_KEY]\n", argv[0]);
    return 2;
  }
  llmux::Client client;

  llmux::ProviderConfig provider;
  provider.id = "example";
  provider.base_url = argv[1];
  provider.api_key = llmux::Secret(argc > 4 ? argv[4] : "");
  provider.default_model = argv[2];
  provider.models.push_back({.id = argv[2]});
  if (auto added = client.add_provider(provider); !added) {
    std::fprintf(stderr, "add_provider: %s\n", added.error().message.c_str());
    return 1;
  }
  (void)client.set_default_provider("example");

  auto health = client.check_health("example");
  std::printf("health: %s (%lld ms)\n", health.message.c_str(), static_cast<long long>(health.latency.count()));

  llmux::ChatRequest request;
  request.messages = {{"user", argv[3]}};
  auto reply = client.chat(request);
  if (!reply) {
    std::fprintf(stderr, "chat: %s\n", reply.error().message.c_str());
    return 1;
  }
  std::printf("reply from %s in %.1f ms: %s\nusage: %lld prompt + %lld completion tokens\n", reply->provider.c_str(),
              reply->latency_ms, reply->content.c_str(), static_cast<long long>(reply->usage.prompt_tokens),
              static_cast<long long>(reply->usage.completion_tokens));

  // A stream as typed events: text as it comes, then the usage and why it stopped.
  std::printf("stream: ");
  auto streamed = client.chat_stream(request, [](const llmux::StreamEvent& e) {
    using Type = llmux::StreamEvent::Type;
    if (e.type == Type::text) std::fwrite(e.text.data(), 1, e.text.size(), stdout);
    if (e.type == Type::usage) std::printf(" [%lld tokens]", static_cast<long long>(e.usage.total_tokens));
    if (e.type == Type::finish) std::printf(" [%.*s]", static_cast<int>(e.text.size()), e.text.data());
    std::fflush(stdout);
  });
  std::printf("\n");
  if (!streamed) {
    std::fprintf(stderr, "chat_stream: %s\n", streamed.error().message.c_str());
    return 1;
  }

  // A tool the model may call; a provider that supports tools answers with a call to it.
  llmux::ChatRequest with_tool = request;
  with_tool.tools = {{"get_time", "The current time in a city",
                      R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})"}};
  if (auto called = client.chat(with_tool)) {
    for (const auto& call : called->tool_calls)
      std::printf("tool call %s: %s(%s)\n", call.id.c_str(), call.name.c_str(), call.arguments.c_str());
    if (called->tool_calls.empty()) std::printf("no tool call: %s\n", called->content.c_str());
  }

  if (auto models = client.list_models("example")) {
    for (const auto& m : *models)
      std::printf("model %s%s%s\n", m.id.c_str(), m.configured ? " [configured]" : "", m.live ? " [live]" : "");
  }
  client.close();
  return 0;
}
