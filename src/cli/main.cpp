// The `llmux` command.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/serve.hpp"

namespace {

using namespace llmux::cli;

constexpr const char* kFooter = R"(
Exit status: 0 ok; 1 failed (provider error, failed check, invalid config); 2 usage error (bad
command line or values, invalid change refused); 3 not found (provider, prompt, model, key);
4 vault cannot be opened (wrong master key, tampered vault, master.key readable by others);
130 interrupted.

Files: $XDG_CONFIG_HOME/llmux/ (~/.config/llmux): config.yaml, providers.yaml (provider store),
prompts.yaml, settings.yaml; $XDG_STATE_HOME/llmux/ (~/.local/state/llmux): vault.json, master.key.
Colour only on a terminal; NO_COLOR=1 turns it off. Completion: source <(llmux completion bash))";

void add_edit_options(CLI::App* cmd, ProviderArgs& a, bool update) {
  auto& e = a.edit;
  cmd->add_option("--type", e.type, "openai-compatible (also written openai, ollama, vllm, lmstudio, …) or anthropic");
  cmd->add_option("-m,--model", e.add_models, "A model the provider serves (repeat or comma-separate)")
      ->delimiter(',')
      ->type_name("M");
  cmd->add_option("--default-model", e.default_model, "Model used when a request names only the provider")->type_name("M");
  cmd->add_option("-H,--header", e.headers, "Extra header sent upstream, NAME:VALUE (repeatable)")->type_name("K:V");
  cmd->add_option("--auth-type", e.auth_type, "How the key is sent: bearer (default), api-key, basic, none")
      ->check(CLI::IsMember({"bearer", "api-key", "header", "basic", "none"}));
  cmd->add_option("--auth-header", e.auth_header, "Header carrying the key for --auth-type api-key (e.g. X-API-Key)");
  cmd->add_option("--api-key-env", e.api_key_env, "Read the key from this variable (written as api_key: ${VAR})")
      ->type_name("VAR");
  cmd->add_option("--context-window", e.context_window, "Context window of the --model models (all models on update without --model)")
      ->type_name("N");
  cmd->add_option("--price-input", e.price_input, "USD per 1K input tokens, for the --model models")->type_name("X");
  cmd->add_option("--price-output", e.price_output, "USD per 1K output tokens, for the --model models")->type_name("Y");
  std::pair<const char*, std::optional<double>*> per_mtok[] = {
      {"--price-input-per-mtok", &e.price_input_per_mtok},
      {"--price-output-per-mtok", &e.price_output_per_mtok},
      {"--price-cached-input-per-mtok", &e.price_cached_input_per_mtok},
      {"--price-cache-write-per-mtok", &e.price_cache_write_per_mtok},
      {"--price-reasoning-per-mtok", &e.price_reasoning_per_mtok}};
  for (auto [flag, value] : per_mtok)
    cmd->add_option(flag, *value, "USD per 1M tokens, for the --model models")->type_name("X");
  cmd->add_option("--priority", e.priority, "Lower wins when several providers serve a model (default 0)")->type_name("N");
  cmd->add_option("--timeout", e.timeout, "Upstream timeout: 500ms, 60s, 2m (default 60s)")->type_name("DURATION");
  cmd->add_option("--max-retries", e.max_retries, "Retries on connection failures and 5xx (default 2)")->type_name("N");
  cmd->add_option("--name", e.display_name, "Display name");
  if (update) {
    cmd->add_option("--url", a.url, "New base URL");
    cmd->add_option("--remove-model", e.remove_models, "Stop listing a model (repeatable)")->type_name("M");
    cmd->add_flag("--clear-models", e.clear_models, "Remove every listed model (any name passes through)");
    cmd->add_option("--remove-header", e.remove_headers, "Stop sending a header (repeatable)")->type_name("NAME");
    cmd->add_flag("--no-api-key", e.clear_api_key, "Drop api_key from the file (a vault key is used if stored)");
    cmd->add_flag("--enable", a.enable, "Enable it");
    cmd->add_flag("--disable", a.disable, "Disable it");
  } else {
    cmd->add_flag("--disabled", a.disabled, "Add it disabled");
  }
}

void add_chat_options(CLI::App* cmd, ChatArgs& c) {
  cmd->add_option("-p,--provider", c.provider, "custom:NAME (a provider from the store) or NAME; default: the default provider");
  cmd->add_option("-m,--model", c.model, "Model (default: the provider's default model)");
  cmd->add_option("-s,--system", c.system, "System message");
  cmd->add_option("-t,--temperature", c.temperature, "Sampling temperature")->type_name("T");
  cmd->add_option("--max-tokens", c.max_tokens, "Maximum tokens to generate")->type_name("N");
  cmd->add_flag("--stream", c.stream, "Print tokens as they arrive");
  cmd->add_flag("--json", c.json, "Print the response as JSON");
  cmd->add_flag("--usage", c.usage, "Print token usage on stderr");
  cmd->add_option("--gateway", c.gateway, "Send through a running llmux gateway at this URL instead of directly");
  cmd->add_option("--gateway-key", c.gateway_key, "Gateway key for --gateway (default: $LLMUX_GATEWAY_KEY)");
  cmd->add_option("-c,--config", c.config_file, "Config file (default: $XDG_CONFIG_HOME/llmux/config.yaml)");
}

void add_prompt_create_options(CLI::App* cmd, PromptArgs& p) {
  cmd->add_option("name", p.name, "Prompt name")->required();
  cmd->add_option("template", p.text, "Template text; {name} is a parameter, {{ }} literal braces")->required();
  cmd->add_option("-s,--system", p.system, "System message (may use parameters)");
  cmd->add_option("-d,--description", p.description, "What it is for");
  cmd->add_flag("-f,--force", p.force, "Replace an existing prompt");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"llmux: one fast OpenAI-compatible gateway in front of every LLM provider", "llmux"};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.set_version_flag("--version", "llmux 0.1.0");
  app.set_help_all_flag("--help-all", "Print help for every command and exit");

  // serve, validate
  ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Run the gateway (reloads the config and provider store on change)");
  serve_cmd->add_option("-c,--config", serve.config_file, "Config file (YAML or JSON)");
  serve_cmd->add_option("--host", serve.host, "Listen address (default 127.0.0.1)");
  serve_cmd->add_option("-p,--port", serve.port, "Listen port; 0 picks a free one (default 4000)");
  serve_cmd->add_option("--threads", serve.threads, "Worker threads (default: one per core)");
  serve_cmd->add_flag("--dry-run", serve.dry_run, "Validate the config and exit");
  // Plain flags into their own bools: CLI11's "!--flag" negation shows as "--flag{false}" in --help.
  bool no_discover = false, no_watch = false;
  serve_cmd->add_flag("--no-discover", no_discover, "Without a config: do not look for API-key variables or local servers");
  serve_cmd->add_flag("--no-watch", no_watch, "Do not reload when the config, provider store or vault change");

  std::string validate_file;
  bool validate_json = false;
  auto* validate_cmd = app.add_subcommand("validate", "Check what serve would load and print a summary or every error");
  validate_cmd->add_option("-c,--config", validate_file, "Config file (YAML or JSON)");
  validate_cmd->add_flag("--json", validate_json, "Print the result as JSON");

  // provider …
  auto* provider_cmd = app.add_subcommand("provider", "Manage custom providers (the provider store)");
  provider_cmd->require_subcommand(1);
  ProviderArgs padd, pupdate, pother;
  auto* add_cmd = provider_cmd->add_subcommand("add", "Add a provider: llmux provider add NAME URL [--model M]…");
  add_cmd->add_option("name", padd.name, "Provider name (letters, digits, . _ -)")->required();
  add_cmd->add_option("url", padd.url, "Base URL, e.g. http://localhost:11434/v1")->required();
  add_edit_options(add_cmd, padd, false);
  auto* list_cmd = provider_cmd->add_subcommand("list", "List providers as a table");
  list_cmd->add_flag("--json", pother.json, "Print JSON");
  list_cmd->add_flag("-a,--all", pother.all, "Include providers from the config file and environment");
  list_cmd->add_option("-c,--config", pother.config_file, "Config file");
  auto* info_cmd = provider_cmd->add_subcommand("info", "Show everything about a provider (secrets redacted)");
  info_cmd->add_option("name", pother.name, "Provider name")->required();
  info_cmd->add_flag("--json", pother.json, "Print JSON");
  info_cmd->add_option("-c,--config", pother.config_file, "Config file");
  auto* update_cmd = provider_cmd->add_subcommand("update", "Change a provider in place");
  update_cmd->add_option("name", pupdate.name, "Provider name")->required();
  add_edit_options(update_cmd, pupdate, true);
  auto* remove_cmd = provider_cmd->add_subcommand("remove", "Remove a provider");
  remove_cmd->add_option("name", pother.name, "Provider name")->required();
  auto* enable_cmd = provider_cmd->add_subcommand("enable", "Let the gateway route to a provider");
  enable_cmd->add_option("name", pother.name, "Provider name")->required();
  auto* disable_cmd = provider_cmd->add_subcommand("disable", "Stop routing to a provider (kept in the store)");
  disable_cmd->add_option("name", pother.name, "Provider name")->required();
  auto* default_cmd = provider_cmd->add_subcommand("default", "Use a provider when chat, run and models get no --provider");
  default_cmd->add_option("name", pother.name, "Provider name")->required();
  default_cmd->add_option("-c,--config", pother.config_file, "Config file");
  TestArgs test;
  auto* test_cmd = provider_cmd->add_subcommand("test", "Self-test a provider: auth, models, chat, streaming, errors");
  test_cmd->add_option("name", test.name, "Provider name (or custom:NAME)")->required();
  test_cmd->add_option("--test", test.tests, "Run only these checks (repeat or comma-separate)")
      ->delimiter(',')
      ->check(CLI::IsMember({"auth", "models", "chat", "streaming", "errors"}));
  test_cmd->add_option("-m,--model", test.model, "Model for the chat checks (default: the default model)");
  test_cmd->add_flag("--json", test.json, "Print JSON");
  test_cmd->add_option("-c,--config", test.config_file, "Config file");

  // api-key, config
  KeyArgs key;
  auto* key_cmd = app.add_subcommand("api-key", "Store a provider's API key, encrypted (prompted without echo, or piped on stdin)");
  key_cmd->add_option("name", key.name, "Provider name")->required();
  key_cmd->add_flag("--remove", key.remove, "Delete the stored key instead");
  auto* config_cmd = app.add_subcommand("config", "CLI settings and stored keys");
  config_cmd->require_subcommand(1);
  std::string config_key, config_value;
  bool config_json = false;
  auto* set_cmd = config_cmd->add_subcommand("set", "config set api_keys.NAME VALUE (- reads stdin) | default_provider NAME");
  set_cmd->add_option("key", config_key, "api_keys.NAME or default_provider")->required();
  set_cmd->add_option("value", config_value, "Value")->required();
  auto* get_cmd = config_cmd->add_subcommand("get", "Show a setting (keys are shown redacted)");
  get_cmd->add_option("key", config_key, "api_keys.NAME or default_provider")->required();
  auto* unset_cmd = config_cmd->add_subcommand("unset", "Remove a setting or stored key");
  unset_cmd->add_option("key", config_key, "api_keys.NAME or default_provider")->required();
  auto* config_list_cmd = config_cmd->add_subcommand("list", "List settings and stored keys (redacted)");
  config_list_cmd->add_flag("--json", config_json, "Print JSON");
  auto* path_cmd = config_cmd->add_subcommand("path", "Show where llmux keeps its files");

  // chat, models, run, prompt
  ChatArgs chat_args;
  auto* chat_cmd = app.add_subcommand("chat", "Send one prompt to a provider (directly, or --gateway URL)");
  chat_cmd->add_option("prompt", chat_args.prompt, "The prompt (- or none: read stdin)");
  add_chat_options(chat_cmd, chat_args);

  ModelsArgs models_args;
  auto* models_cmd = app.add_subcommand("models", "List models: live from each provider next to the configured ones");
  models_cmd->add_option("provider", models_args.provider, "Only this provider (NAME or custom:NAME)");
  models_cmd->add_flag("--json", models_args.json, "Print JSON");
  models_cmd->add_option("--gateway", models_args.gateway, "List what a running llmux gateway serves");
  models_cmd->add_option("--gateway-key", models_args.gateway_key, "Gateway key (default: $LLMUX_GATEWAY_KEY)");
  models_cmd->add_option("-c,--config", models_args.config_file, "Config file");

  RunArgs run_args;
  auto* run_cmd = app.add_subcommand("run", "Run a prompt template: llmux run NAME --param key=value");
  run_cmd->add_option("name", run_args.name, "Prompt name")->required();
  run_cmd->add_option("-P,--param", run_args.params, "Template parameter NAME=VALUE (repeatable)")->type_name("K=V");
  auto* dry_run = run_cmd->add_flag("--dry-run", run_args.dry_run, "Print the rendered prompt and the exact request, send nothing");
  bool execute = false;  // the default; accepted because the product docs spell it out
  run_cmd->add_flag("--execute", execute, "Send the request (the default; the opposite of --dry-run)")->excludes(dry_run);
  add_chat_options(run_cmd, run_args.chat);

  PromptArgs prompt_args;
  auto* prompt_cmd = app.add_subcommand("prompt", "Manage prompt templates ({param} placeholders)");
  prompt_cmd->require_subcommand(1);
  auto* pcreate = prompt_cmd->add_subcommand("create", "Save a template: llmux prompt create NAME \"Explain {concept}\"");
  add_prompt_create_options(pcreate, prompt_args);
  auto* create_cmd = app.add_subcommand("create", "Save a prompt template (the same as `llmux prompt create`)");
  add_prompt_create_options(create_cmd, prompt_args);
  auto* plist = prompt_cmd->add_subcommand("list", "List templates");
  plist->add_flag("--json", prompt_args.json, "Print JSON");
  auto* pshow = prompt_cmd->add_subcommand("show", "Show a template and its parameters");
  pshow->add_option("name", prompt_args.name, "Prompt name")->required();
  pshow->add_flag("--json", prompt_args.json, "Print JSON");
  auto* premove = prompt_cmd->add_subcommand("remove", "Delete a template");
  premove->add_option("name", prompt_args.name, "Prompt name")->required();

  UsageArgs usage_args;
  auto* usage_cmd = app.add_subcommand("usage", "Requests, tokens and cost from the usage ledger (what GET /api/usage reports)");
  usage_cmd->add_option("--since", usage_args.since, "From this time: 7d, 12h, 30m ago, a UTC date 2026-12-01, or 2026-12-01T10:00:00Z")
      ->type_name("TIME");
  usage_cmd->add_option("--until", usage_args.until, "Up to (not including) this time, same forms")->type_name("TIME");
  usage_cmd->add_option("--by", usage_args.by, "Group by provider, model, key or day (UTC)")
      ->check(CLI::IsMember({"provider", "model", "key", "day"}));
  usage_cmd->add_flag("--json", usage_args.json, "Print the report as JSON (the shape of GET /api/usage)");
  usage_cmd->add_flag("--reprice", usage_args.reprice, "Recompute every recorded cost from its tokens with the current prices");
  usage_cmd->add_option("-c,--config", usage_args.config_file, "Config file (its prices and state_dir)");

  // keys … (the gateway's virtual keys; `api-key` and `config set api_keys.NAME` are providers' keys)
  VirtualKeyArgs vkey;
  auto* vkeys_cmd = app.add_subcommand("keys", "Virtual gateway keys: create, list, show, update, revoke");
  vkeys_cmd->require_subcommand(1);
  auto add_vkey_limits = [&vkey](CLI::App* cmd) {
    cmd->add_option("--budget-daily", vkey.budget_daily, "Daily budget, USD (UTC day)")->type_name("USD");
    cmd->add_option("--budget-monthly", vkey.budget_monthly, "Monthly budget, USD (UTC month)")->type_name("USD");
    cmd->add_option("--rpm", vkey.rpm, "Requests per minute")->type_name("N");
    cmd->add_option("--tpm", vkey.tpm, "Tokens per minute")->type_name("N");
    cmd->add_option("--models", vkey.models, "Only these models (comma-separate); default: all")->delimiter(',')->type_name("M,…");
    cmd->add_option("--expires", vkey.expires, "Expire after 30d, 12h, 45s, or at a UTC date/time (never: no expiry)")
        ->type_name("WHEN");
  };
  auto add_vkey_common = [&vkey](CLI::App* cmd) {
    cmd->add_flag("--json", vkey.json, "Print JSON");
    cmd->add_option("-c,--config", vkey.config_file, "Config file (its state_dir holds the keys)");
  };
  auto* vcreate = vkeys_cmd->add_subcommand("create", "Create a key and print it once: llmux keys create --name team-a");
  vcreate->add_option("--name", vkey.name, "Name (the ledger's key column)")->required();
  add_vkey_limits(vcreate);
  add_vkey_common(vcreate);
  auto* vlist = vkeys_cmd->add_subcommand("list", "List keys (never the keys themselves)");
  add_vkey_common(vlist);
  auto* vshow = vkeys_cmd->add_subcommand("show", "Show one key's settings");
  vshow->add_option("key", vkey.id, "Key id or name")->required();
  add_vkey_common(vshow);
  auto* vupdate = vkeys_cmd->add_subcommand("update", "Change a key's limits, budget, models or expiry");
  vupdate->add_option("key", vkey.id, "Key id or name")->required();
  add_vkey_limits(vupdate);
  vupdate->add_flag("--all-models", vkey.all_models, "Allow every model again");
  add_vkey_common(vupdate);
  auto* vrevoke = vkeys_cmd->add_subcommand("revoke", "Revoke a key for good");
  vrevoke->add_option("key", vkey.id, "Key id or name")->required();
  add_vkey_common(vrevoke);

  std::string shell = "bash";
  auto* completion_cmd = app.add_subcommand("completion", "Print the shell completion script (bash or zsh)");
  completion_cmd->add_option("shell", shell, "bash or zsh")->check(CLI::IsMember({"bash", "zsh"}));
  std::string complete_what;
  auto* complete_cmd = app.add_subcommand("__complete", "")->group("");
  complete_cmd->add_option("what", complete_what)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }

  if (serve_cmd->parsed()) {
    serve.discover = !no_discover;
    serve.watch = !no_watch;
    return run_serve(serve);
  }
  if (validate_cmd->parsed()) return run_validate(validate_file, validate_json);
  if (add_cmd->parsed()) return provider_add(padd);
  if (list_cmd->parsed()) return provider_list(pother);
  if (info_cmd->parsed()) return provider_info(pother);
  if (update_cmd->parsed()) return provider_update(pupdate);
  if (remove_cmd->parsed()) return provider_remove(pother);
  if (enable_cmd->parsed()) return provider_set_enabled(pother, true);
  if (disable_cmd->parsed()) return provider_set_enabled(pother, false);
  if (default_cmd->parsed()) return provider_default(pother);
  if (test_cmd->parsed()) return provider_test(test);
  if (key_cmd->parsed()) return api_key(key);
  if (set_cmd->parsed()) return config_set(config_key, config_value);
  if (get_cmd->parsed()) return config_get(config_key);
  if (unset_cmd->parsed()) return config_unset(config_key);
  if (config_list_cmd->parsed()) return config_list(config_json);
  if (path_cmd->parsed()) return config_path();
  if (chat_cmd->parsed()) return chat(chat_args);
  if (models_cmd->parsed()) return models(models_args);
  if (run_cmd->parsed()) return run_prompt(run_args);
  if (pcreate->parsed() || create_cmd->parsed()) return prompt_create(prompt_args);
  if (plist->parsed()) return prompt_list(prompt_args);
  if (pshow->parsed()) return prompt_show(prompt_args);
  if (premove->parsed()) return prompt_remove(prompt_args);
  if (usage_cmd->parsed()) return usage(usage_args);
  if (vcreate->parsed()) return vkeys_create(vkey);
  if (vlist->parsed()) return vkeys_list(vkey);
  if (vshow->parsed()) return vkeys_show(vkey);
  if (vupdate->parsed()) return vkeys_update(vkey);
  if (vrevoke->parsed()) return vkeys_revoke(vkey);
  if (completion_cmd->parsed()) return completion(shell);
  if (complete_cmd->parsed()) return complete_names(complete_what);
  return kUsage;
}
