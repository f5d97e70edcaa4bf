#include "azure.hpp"

#include <optional>
#include <string>

namespace llmux::fake {

namespace {

constexpr std::string_view kSafe =
    R"({"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},)"
    R"("sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}})";

std::string prompt_filter_results() {
  return std::string(R"([{"prompt_index":0,"content_filter_results":)") + std::string(kSafe) + "}]";
}

Reply json_reply(unsigned status, std::string body) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

std::optional<Reply> azure_target_error(std::string_view target) {
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  bool dated_path = path.starts_with("/openai/deployments/") || path == "/openai/models" || path == "/openai/responses";
  if (!dated_path) return std::nullopt;
  if (query.starts_with("api-version=") || query.find("&api-version=") != std::string_view::npos) return std::nullopt;
  return json_reply(404, R"({"error":{"code":"404","message":"Resource not found"}})");
}

Reply azure_content_filter_error() {
  return json_reply(
      400,
      R"({"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",)"
      R"("type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation",)"
      R"("content_filter_result":{"hate":{"filtered":true,"severity":"high"},"jailbreak":{"filtered":false,"detected":false},)"
      R"("self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},)"
      R"("violence":{"filtered":false,"severity":"safe"}}}}})");
}

void dress_as_azure(Reply& r) {
  if (r.status != 200) return;
  const std::string choice_start = std::string(R"("choices":[{"content_filter_results":)") + std::string(kSafe) + ",";
  auto annotate = [&](std::string& text) {
    for (size_t at = text.find(R"("choices":[{)"); at != std::string::npos; at = text.find(R"("choices":[{)", at + 1))
      text.replace(at, 12, choice_start);
  };
  if (!r.stream) {
    // Only completions are annotated (not embeddings or model lists): they are the bodies with choices.
    if (r.body.find(R"("choices":[{)") == std::string::npos) return;
    annotate(r.body);
    r.body.insert(r.body.rfind('}'), ",\"prompt_filter_results\":" + prompt_filter_results());
    return;
  }
  for (auto& e : r.events)
    if (e.starts_with("data: {")) annotate(e);
  r.events.insert(r.events.begin() + static_cast<std::ptrdiff_t>(r.first_content ? r.first_content - 1 : 0),
                  R"(data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":)" +
                      prompt_filter_results() + "}\n\n");
  ++r.first_content;
}

}  // namespace llmux::fake
