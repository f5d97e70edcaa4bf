#include "providers/azure_openai/azure_openai.hpp"

#include <boost/json.hpp>

#include "core/text.hpp"
#include "providers/encode_support.hpp"
#include "providers/openai_compatible/openai_compatible.hpp"

namespace llmux::providers {

namespace {

bool strip_suffix(std::string& s, std::string_view suffix) {
  if (s.size() < suffix.size() || !iequals(std::string_view(s).substr(s.size() - suffix.size()), suffix)) return false;
  s.resize(s.size() - suffix.size());
  return true;
}

// "hate (high), jailbreak (detected)": what Azure's filter objected to, for the error message.
std::string filtered_categories(const boost::json::object& result) {
  std::string out;
  for (const auto& [category, verdict] : result) {
    const auto* v = verdict.if_object();
    if (!v) continue;
    const auto* filtered = v->if_contains("filtered");
    if (!filtered || !filtered->is_bool() || !filtered->get_bool()) continue;
    if (!out.empty()) out += ", ";
    out.append(category.data(), category.size());
    if (const auto* severity = v->if_contains("severity"); severity && severity->is_string())
      out.append(" (").append(severity->get_string().c_str()).append(")");
    else if (const auto* detected = v->if_contains("detected"); detected && detected->is_bool() && detected->get_bool())
      out.append(" (detected)");
  }
  return out;
}

}  // namespace

std::string azure_resource_url(std::string_view base_url) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (!strip_suffix(url, "/openai/v1")) {
    strip_suffix(url, "/v1");
    strip_suffix(url, "/openai");
  }
  return url;
}

AzureOpenAIProvider::AzureOpenAIProvider(ProviderConfig config, UpstreamLimits limits)
    : Provider(std::move(config), limits), resource_(azure_resource_url(config_.base_url)) {
  fixed_headers_ = json_request_headers(config_);
  default_params_ = json::object_members(config_.default_params_json);
  if (v1()) {
    prefix_ = resource_ + "/openai/v1";
  } else {
    prefix_ = resource_ + "/openai/deployments/";
    query_ = "?api-version=" + config_.api_version;
  }
}

std::string AzureOpenAIProvider::endpoint_url(Endpoint endpoint) const {
  if (endpoint == Endpoint::models) return list_models_request().url;
  if (endpoint == Endpoint::responses) return (v1() ? prefix_ : resource_ + "/openai") + "/responses" + query_;
  if (v1()) return prefix_ + endpoint_path(endpoint);
  return prefix_ + "{deployment}" + endpoint_path(endpoint) + query_;
}

Expected<void, Error> AzureOpenAIProvider::encode_into(const EncodeInput& in, http::UpstreamRequest& out) const {
  if (in.endpoint == Endpoint::models) return unexpected(unsupported_endpoint(*this, in.endpoint));
  if (in.endpoint == Endpoint::responses) return encode_responses(in, out);
  if (!encode::is_plain_path_segment(in.upstream_model))
    return unexpected(Error::make(ErrorKind::invalid_request,
                                  "model '" + std::string(in.upstream_model) + "' is not an Azure deployment name (letters, digits, '-', '_' and '.') of provider '" +
                                      id() + "'",
                                  "model", "model_not_found"));
  begin_post(in, prefix_, fixed_headers_, out);
  if (!v1()) out.url.append(in.upstream_model);
  out.url.append(endpoint_path(in.endpoint));
  out.url.append(query_);
  write_openai_body(in, default_params_, out.body);
  return {};
}

// The Responses API has no deployment segment in its path: the deployment is the body's model.
// Azure serves it at /openai/v1/responses, and with a dated (preview) version at
// /openai/responses?api-version=….
Expected<void, Error> AzureOpenAIProvider::encode_responses(const EncodeInput& in, http::UpstreamRequest& out) const {
  if (!serves_responses(config_)) return unexpected(unsupported_responses(*this));
  begin_post(in, v1() ? prefix_ : resource_, fixed_headers_, out);
  out.url.append(v1() ? "/responses" : "/openai/responses");
  out.url.append(query_);
  write_openai_body(in, default_params_, out.body);
  return {};
}

http::UpstreamRequest AzureOpenAIProvider::list_models_request() const {
  // The models the resource can deploy; Azure has no listing of deployments in its data plane.
  return begin_get(v1() ? prefix_ + "/models" : resource_ + "/openai/models" + query_, fixed_headers_);
}

// Azure's errors are OpenAI's shape with Azure's codes ("DeploymentNotFound", "429") and, for
// its content filter, an innererror naming the categories that tripped it. A filter rejection is
// made the content-policy error the router treats as the answer (code content_filter).
Error AzureOpenAIProvider::decode_error(int status, std::string_view body, std::string_view retry_after) const {
  Error e = decode_json_error(*this, status, body, retry_after);
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  const boost::json::object* error = nullptr;
  if (!ec && v.is_object())
    if (const auto* err = v.get_object().if_contains("error")) error = err->if_object();
  if (!error) return e;
  const boost::json::object* inner = nullptr;
  if (const auto* i = error->if_contains("innererror")) inner = i->if_object();
  bool policy = e.code == "content_filter";
  if (inner)
    if (const auto* code = inner->if_contains("code"); code && code->is_string() && code->get_string() == "ResponsibleAIPolicyViolation")
      policy = true;
  if (!policy) return e;
  e.code = "content_filter";
  if (e.type.empty() || e.type == "invalid_request_error" || e.type == "upstream_error") e.type = "invalid_request_error";
  if (inner)
    if (const auto* result = inner->if_contains("content_filter_result"); result && result->is_object())
      if (auto categories = filtered_categories(result->get_object()); !categories.empty())
        e.message += " [Azure content filter: " + categories + "]";
  return scrubbed(std::move(e));
}

}  // namespace llmux::providers
