// The `llmux` command.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/serve.hpp"

int main(int argc, char** argv) {
  CLI::App app{"llmux: one fast OpenAI-compatible gateway in front of every LLM provider"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "llmux 0.1.0");

  llmux::cli::ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Run the gateway");
  serve_cmd->add_option("-c,--config", serve.config_file, "Config file (YAML or JSON)");
  serve_cmd->add_option("--host", serve.host, "Listen address (default 127.0.0.1)");
  serve_cmd->add_option("-p,--port", serve.port, "Listen port; 0 picks a free one (default 4000)");
  serve_cmd->add_option("--threads", serve.threads, "Worker threads (default: one per core)");
  serve_cmd->add_flag("--dry-run", serve.dry_run, "Validate the config and exit");
  serve_cmd->add_flag("!--no-discover", serve.discover,
                      "Without a config: do not look for API-key variables or local servers");

  std::string validate_file;
  auto* validate_cmd = app.add_subcommand("validate", "Check a config file and print a summary or every error");
  validate_cmd->add_option("-c,--config", validate_file, "Config file (YAML or JSON)");

  CLI11_PARSE(app, argc, argv);
  if (serve_cmd->parsed()) return llmux::cli::run_serve(serve);
  if (validate_cmd->parsed()) return llmux::cli::run_validate(validate_file);
  return 0;
}
