// The keys of an aws-bedrock provider's credentials (the seeds' region, accessKeyId,
// secretAccessKey, and sessionToken, profile) and how each value is read. The loader checks the
// keys with the provider's others and hands every value's text here.
#pragma once

#include <string>
#include <string_view>

#include "llmux/config.hpp"

namespace llmux::config_detail {

inline constexpr std::string_view kAwsKeys[] = {"region", "access_key_id", "secret_access_key", "session_token",
                                                "profile"};

// Sets `canonical_key` of provider `p` (whose type is already read) from its text. Returns what is
// wrong, or an empty string when it was taken.
std::string set_aws_key(std::string_view canonical_key, std::string value, ProviderConfig& p);

// Once all of an aws-bedrock provider's keys are read: the region from AWS_REGION or
// AWS_DEFAULT_REGION when the config has none, and the regional Bedrock runtime URL as the base_url
// unless one was given. Returns what is missing, or an empty string.
std::string finish_aws_provider(ProviderConfig& p, bool base_url_given);

}  // namespace llmux::config_detail
