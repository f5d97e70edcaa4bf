// Azure OpenAI's differences from OpenAI, applied to the OpenAI side's replies: requests under
// /openai/deployments/{name}/… need ?api-version=, answers carry content-filter annotations
// (content_filter_results per choice, prompt_filter_results for the prompt, a stream that opens
// with an annotation-only chunk whose id and model are empty), and a content-filter refusal is
// Azure's 400 with an innererror naming the categories. No I/O here.
#pragma once

#include <optional>
#include <string_view>

#include "reply.hpp"

namespace llmux::fake {

// Whether the target (path and query) is one of Azure's.
inline bool azure_target(std::string_view target) { return target.starts_with("/openai/"); }

// The 404 Azure gives a deployments request without api-version, or std::nullopt when the
// target is fine.
std::optional<Reply> azure_target_error(std::string_view target);

// Azure's content-filter refusal (the prompt was filtered for hate, high severity).
Reply azure_content_filter_error();

// Adds Azure's annotations to a successful OpenAI reply (plain or stream).
void dress_as_azure(Reply& r);

}  // namespace llmux::fake
