// What the commands that talk to providers share: the effective providers (config file + store +
// vault keys), picking one from --provider, the --gateway stand-in, a Client, and failure
// messages that say what to do next.
#pragma once

#include <string>
#include <vector>

#include "llmux/client.hpp"
#include "llmux/config.hpp"
#include "store/files.hpp"
#include "store/sources.hpp"

namespace llmux::cli {

struct Session {
  store::Paths paths;
  store::Assembled sources;
  std::string default_provider;  // settings.yaml
};

// Loads config file, provider store, vault keys and settings. Unset ${VAR}s do not fail here.
store::Result<Session> open_session(const std::string& config_file);

struct Picked {
  ProviderConfig config;
  store::ProviderOrigin origin;
  bool gateway = false;        // a running llmux gateway stands in for the provider
  std::string gateway_model;   // the model to ask the gateway for ("provider/model" or "provider")
};

// --provider custom:NAME (store providers only) or NAME (any), else the default provider, else
// the only provider. Unknown names fail with "Custom provider 'x' not found; known: a, b".
store::Result<Picked> pick_provider(const Session& session, const std::string& spec);

struct GatewayTarget {
  std::string url;  // --gateway
  std::string key;  // --gateway-key or $LLMUX_GATEWAY_KEY
};
// A provider config for a running gateway (pass-through: any model name is forwarded).
store::Result<Picked> gateway_provider(const GatewayTarget& target, const std::string& provider_spec,
                                       const std::string& model);

// Strips "custom:".
std::string provider_name(const std::string& spec);

// Registers the provider (enabled even when disabled for the gateway, so it can be tried out).
store::Result<void> register_provider(Client& client, const Picked& picked);

// Prints a provider error with a hint for what to do (set the key, check the server, raise the
// timeout, pick one of the models); returns the exit status.
int report_provider_error(const Error& error, const Picked& picked, Client* client);
std::string provider_error_hint(const Error& error, const Picked& picked);

// Warnings for the picked provider: unset variables, disabled in the gateway.
void warn_about(const Picked& picked);

}  // namespace llmux::cli
