#include "config/aws_keys.hpp"

#include <cstdlib>

namespace llmux::config_detail {

namespace {

constexpr std::string_view kBedrock = "aws-bedrock";

// Region names are lower-case words and digits joined by '-' ("us-east-1", "us-gov-west-1"): they
// go into a host name.
bool is_region_name(std::string_view region) {
  if (region.empty() || region.front() == '-' || region.back() == '-') return false;
  for (char c : region)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

}  // namespace

std::string set_aws_key(std::string_view key, std::string value, ProviderConfig& p) {
  if (p.type != kBedrock) {
    // vertex-ai has a region of its own, read with its keys.
    if (key == "region" && p.type == "vertex-ai") return {};
    return std::string(key) + " is an aws-bedrock setting (type: aws-bedrock)";
  }
  auto& aws = p.aws;
  if (key == "region") {
    if (!is_region_name(value)) return "expected an AWS region name such as us-east-1, got \"" + value + "\"";
    aws.region = std::move(value);
  } else if (key == "access_key_id") {
    aws.access_key_id = std::move(value);
  } else if (key == "secret_access_key") {
    aws.secret_access_key = Secret(std::move(value));
  } else if (key == "session_token") {
    aws.session_token = Secret(std::move(value));
  } else if (key == "profile") {
    aws.profile = std::move(value);
  }
  return {};
}

std::string finish_aws_provider(ProviderConfig& p, bool base_url_given) {
  if (p.type != kBedrock) return {};
  auto& aws = p.aws;
  if (aws.region.empty()) {
    for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
      const char* value = std::getenv(name);
      if (value && *value && is_region_name(value)) {
        aws.region = value;
        break;
      }
    }
  }
  if (!base_url_given) {
    if (aws.region.empty()) return "an aws-bedrock provider needs a region (region: us-east-1, or AWS_REGION)";
    p.base_url = "https://bedrock-runtime." + aws.region + ".amazonaws.com";
  }
  // A base_url of its own (a proxy, a VPC endpoint, the fake provider) is still signed for a region.
  if (aws.region.empty()) aws.region = "us-east-1";
  return {};
}

}  // namespace llmux::config_detail
