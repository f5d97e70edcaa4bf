// Using llmux as a library: register a provider, chat plainly and with streaming, list models,
// check health, close.
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
  std::printf("reply: %s\nusage: %lld prompt + %lld completion tokens\n", reply->content.c_str(),
              static_cast<long long>(reply->usage.prompt_tokens), static_cast<long long>(reply->usage.completion_tokens));

  std::printf("stream: ");
  auto streamed = client.chat_stream(request, [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  });
  std::printf("\n");
  if (!streamed) {
    std::fprintf(stderr, "chat_stream: %s\n", streamed.error().message.c_str());
    return 1;
  }

  if (auto models = client.list_models("example")) {
    for (const auto& m : *models)
      std::printf("model %s%s%s\n", m.id.c_str(), m.configured ? " [configured]" : "", m.live ? " [live]" : "");
  }
  client.close();
  return 0;
}
