#include "observability/redact.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace llmux::observability {

namespace {

bool contains_folded(std::string_view haystack, std::string_view needle) noexcept {
  if (needle.size() > haystack.size()) return false;
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i)
    if (iequals(haystack.substr(i, needle.size()), needle)) return true;
  return false;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool is_credential_name(std::string_view name) noexcept {
  static constexpr std::string_view kExact[] = {"authorization", "proxy-authorization", "cookie", "set-cookie",
                                                "sig", "signature", "code"};
  static constexpr std::string_view kParts[] = {"key", "token", "secret", "password", "passwd", "auth",
                                                "credential", "session"};
  for (auto exact : kExact)
    if (iequals(name, exact)) return true;
  for (auto part : kParts)
    if (contains_folded(name, part)) return true;
  return false;
}

std::string Redactor::text(std::string_view text) const {
  std::string out(text);
  provider_->scrub(out);
  return out;
}

std::string Redactor::header_line(std::string_view line) const {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return text(line);
  std::string_view name = trim(line.substr(0, colon));
  if (is_credential_name(name)) return std::string(name) + ": " + std::string(kRedacted);
  return text(line);
}

std::string Redactor::url(std::string_view url) const {
  std::string out;
  out.reserve(url.size());
  // user:password@ in the authority.
  size_t scheme = url.find("://");
  size_t authority = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t path = url.find_first_of("/?#", authority);
  std::string_view host_part = url.substr(authority, path == std::string_view::npos ? url.npos : path - authority);
  out.append(url.substr(0, authority));
  if (size_t at = host_part.rfind('@'); at != std::string_view::npos) {
    out += kRedacted;
    out.append(host_part.substr(at));
  } else {
    out.append(host_part);
  }
  if (path == std::string_view::npos) return text(out);
  std::string_view rest = url.substr(path);
  size_t query = rest.find('?');
  out.append(rest.substr(0, query));
  if (query != std::string_view::npos) {
    out += '?';
    std::string_view params = rest.substr(query + 1);
    bool first = true;
    while (!params.empty()) {
      size_t amp = params.find('&');
      std::string_view param = params.substr(0, amp);
      params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
      if (!first) out += '&';
      first = false;
      size_t eq = param.find('=');
      if (eq != std::string_view::npos && is_credential_name(param.substr(0, eq))) {
        out.append(param.substr(0, eq + 1));
        out += kRedacted;
      } else {
        out.append(param);
      }
    }
  }
  return text(out);
}

}  // namespace llmux::observability
