// Where AWS credentials come from when an aws-bedrock provider's config does not give them, in the
// order the AWS SDKs look: environment variables, then the shared credentials file's profile.
#include <cstdlib>
#include <fstream>

#include "providers/bedrock/bedrock.hpp"

namespace llmux::providers {

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The profile's section of an INI file: aws_access_key_id, aws_secret_access_key, aws_session_token.
std::optional<bedrock::AwsCredentials> from_file(const std::string& path, std::string_view profile) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  bedrock::AwsCredentials c;
  std::string secret, token;
  bool inside = false;
  for (std::string raw; std::getline(in, raw);) {
    std::string_view line = trimmed(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      std::string_view name = trimmed(line.substr(1, line.find(']') - 1));
      inside = name == profile;
      continue;
    }
    size_t eq = line.find('=');
    if (!inside || eq == std::string_view::npos) continue;
    std::string_view key = trimmed(line.substr(0, eq)), value = trimmed(line.substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key_id = std::string(value);
    else if (key == "aws_secret_access_key") secret = std::string(value);
    else if (key == "aws_session_token") token = std::string(value);
  }
  if (c.access_key_id.empty() || secret.empty()) return std::nullopt;
  c.secret_access_key = Secret(std::move(secret));
  c.session_token = Secret(std::move(token));
  return c;
}

}  // namespace

std::optional<bedrock::AwsCredentials> find_aws_credentials(const ProviderAwsConfig& config, std::string& source) {
  if (!config.access_key_id.empty() && !config.secret_access_key.empty()) {
    source = "config";
    return bedrock::AwsCredentials{config.access_key_id, config.secret_access_key, config.session_token};
  }
  std::string id = env("AWS_ACCESS_KEY_ID"), secret = env("AWS_SECRET_ACCESS_KEY");
  if (!id.empty() && !secret.empty()) {
    source = "environment (AWS_ACCESS_KEY_ID)";
    return bedrock::AwsCredentials{std::move(id), Secret(std::move(secret)), Secret(env("AWS_SESSION_TOKEN"))};
  }
  std::string profile = config.profile.empty() ? env("AWS_PROFILE") : config.profile;
  if (profile.empty()) profile = "default";
  std::string path = env("AWS_SHARED_CREDENTIALS_FILE");
  if (path.empty()) {
    std::string home = env("HOME");
    if (home.empty()) return std::nullopt;
    path = home + "/.aws/credentials";
  }
  auto found = from_file(path, profile);
  if (found) source = path + " [" + profile + "]";
  return found;
}

}  // namespace llmux::providers
