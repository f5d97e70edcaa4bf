#include "cli/serve.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "discovery/defaults.hpp"
#include "llmux/config.hpp"
#include "server/gateway_state.hpp"
#include "server/server.hpp"

namespace llmux::cli {

namespace {

struct Loaded {
  GatewayConfig config;
  std::string origin;  // where the config came from, for the summary
};

std::optional<Loaded> load(const std::string& explicit_file, bool discover) {
  std::string file = explicit_file;
  if (file.empty()) {
    for (const char* name : {"config.yaml", "config.yml", "config.json"}) {
      std::string candidate = discovery::config_dir() + "/" + name;
      if (std::filesystem::exists(candidate)) {
        file = candidate;
        break;
      }
    }
  }
  if (!file.empty()) {
    auto config = load_config_file(file);
    if (!config) {
      for (const auto& e : config.error()) std::cerr << format_config_error(e) << "\n";
      std::cerr << config.error().size() << " error(s) in " << file << "\n";
      return std::nullopt;
    }
    return Loaded{std::move(config.value()), file};
  }
  Loaded loaded{GatewayConfig{}, "embedded defaults"};
  if (discover) {
    loaded.config.providers = discovery::providers_from_environment();
    for (auto& p : discovery::probe_local_servers(std::chrono::milliseconds(300)))
      loaded.config.providers.push_back(std::move(p));
  }
  return loaded;
}

void print_summary(const server::GatewayState& state, const std::string& origin) {
  std::printf("config: %s\n", origin.c_str());
  if (state.providers.empty()) {
    std::printf("no providers configured: set OPENAI_API_KEY (or another provider key), start Ollama, "
                "or pass --config FILE; `make demo` shows a full round trip with the bundled fake provider\n");
  }
  for (const auto& p : state.providers) {
    const auto& c = p->config();
    std::printf("provider %s (%s) %s%s: ", c.id.c_str(), c.type.c_str(), c.base_url.c_str(),
                c.enabled ? "" : " [disabled]");
    if (c.models.empty()) std::printf("any model (pass-through)");
    for (size_t i = 0; i < c.models.size(); ++i) std::printf("%s%s", i ? ", " : "", c.models[i].id.c_str());
    if (!c.default_model.empty()) std::printf("; default %s", c.default_model.c_str());
    std::printf("\n");
  }
  std::fflush(stdout);
}

}  // namespace

int run_validate(const std::string& config_file) {
  auto loaded = load(config_file, false);
  if (!loaded) return 1;
  auto state = server::GatewayState::build(loaded->config);
  if (!state) {
    for (const auto& e : state.error()) std::cerr << e << "\n";
    return 1;
  }
  size_t models = 0;
  for (const auto& p : (*state)->providers) models += p->config().models.size();
  std::printf("%s: OK: %zu provider(s), %zu model(s)\n", loaded->origin.c_str(), (*state)->providers.size(), models);
  return 0;
}

int run_serve(const ServeOptions& options) {
  if (options.dry_run) return run_validate(options.config_file);
  auto loaded = load(options.config_file, options.discover);
  if (!loaded) return 1;
  auto& config = loaded->config;
  if (options.host) config.server.host = *options.host;
  if (options.port) {
    if (*options.port < 0 || *options.port > 65535) {
      std::cerr << "--port must be between 0 and 65535\n";
      return 2;
    }
    config.server.port = static_cast<uint16_t>(*options.port);
  }
  if (options.threads) config.server.threads = *options.threads;
  if (config.state_dir.empty()) config.state_dir = discovery::state_dir();
  std::error_code ec;
  std::filesystem::create_directories(config.state_dir, ec);
  if (!ec) ::chmod(config.state_dir.c_str(), 0700);

  auto state = server::GatewayState::build(config);
  if (!state) {
    for (const auto& e : state.error()) std::cerr << e << "\n";
    return 1;
  }
  server::Server server(*state);
  auto port = server.listen();
  if (!port) {
    std::cerr << "llmux: " << port.error() << "\n";
    return 1;
  }
  std::string host = config.server.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  std::printf("listening on http://%s:%u\n", host.c_str(), static_cast<unsigned>(*port));
  print_summary(**state, loaded->origin);
  server.run();
  std::printf("llmux: stopped\n");
  std::fflush(stdout);
  return 0;
}

}  // namespace llmux::cli
