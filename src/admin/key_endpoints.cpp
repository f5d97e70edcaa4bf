// GET|POST /api/keys, GET|PATCH|DELETE /api/keys/{id}: the virtual keys of `llmux keys`, over the
// same key store. Every change is written to the audit log (names of the changed fields only).
#include "admin/key_endpoints.hpp"

#include <cmath>

#include <boost/json.hpp>

#include "admin/audit_log.hpp"
#include "governance/key_refresher.hpp"
#include "observability/log.hpp"
#include "router/health.hpp"
#include "storage/key_store.hpp"
#include "storage/usage_query.hpp"

namespace llmux::admin {

namespace bjson = boost::json;

namespace {

Error bad_request(std::string message, std::string param = {}, std::string code = "invalid_key_request") {
  return Error::make(ErrorKind::invalid_request, std::move(message), std::move(param), std::move(code));
}

AdminAnswer store_error(const storage::KeyStoreError& e) {
  using Kind = storage::KeyStoreError::Kind;
  switch (e.kind) {
    case Kind::not_found: return error_answer(Error::make(ErrorKind::not_found, e.message, {}, "key_not_found"));
    case Kind::conflict: {
      Error error = Error::make(ErrorKind::invalid_request, e.message, "name", "key_name_taken");
      error.http_status = 409;
      return error_answer(error);
    }
    case Kind::failed: break;
  }
  return error_answer(Error::make(ErrorKind::internal, e.message, {}, "key_store_failed"));
}

AdminAnswer no_store() {
  Error e = Error::make(ErrorKind::internal, "the gateway runs without a virtual key store (its state directory cannot hold keys.db)",
                        {}, "key_store_unavailable");
  e.http_status = 503;
  return error_answer(e);
}

int64_t now_ms() { return governance::unix_now_ms(); }

bjson::value time_or_null(int64_t ms) {
  if (!ms) return nullptr;
  return bjson::string(router::iso8601(router::WallTime(std::chrono::milliseconds(ms))));
}

bjson::value usd_or_null(int64_t micro) {
  if (!micro) return nullptr;
  return static_cast<double>(micro) / 1e6;
}

bjson::object key_json(const storage::StoredKey& k) {
  bjson::array models;
  for (const auto& m : k.models) models.emplace_back(m);
  const char* status = k.revoked_ms ? "revoked" : (k.expires_ms && now_ms() >= k.expires_ms ? "expired" : "active");
  return {{"id", k.id},
          {"name", k.name},
          {"prefix", k.prefix},
          {"status", status},
          {"models", std::move(models)},
          {"rpm", k.limits.rpm},
          {"tpm", k.limits.tpm},
          {"budget", {{"daily", usd_or_null(k.budget.daily_micro_usd)}, {"monthly", usd_or_null(k.budget.monthly_micro_usd)}}},
          {"created", time_or_null(k.created_ms)},
          {"expires", time_or_null(k.expires_ms)},
          {"revoked", time_or_null(k.revoked_ms)}};
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 40) return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

// What a body may set, read into `changes` (and `name` for create). Every problem is reported.
struct KeyBody {
  std::string name;
  storage::KeyChanges changes;
  std::vector<std::string> fields;  // as written, for the audit log
};

Expected<uint32_t, std::string> whole_number(const bjson::value& v) {
  if (v.is_int64() && v.as_int64() >= 0 && v.as_int64() <= UINT32_MAX) return static_cast<uint32_t>(v.as_int64());
  if (v.is_uint64() && v.as_uint64() <= UINT32_MAX) return static_cast<uint32_t>(v.as_uint64());
  return unexpected(std::string("must be a whole number from 0 to 4294967295"));
}

Expected<int64_t, std::string> usd_amount(const bjson::value& v) {
  if (v.is_null()) return int64_t{0};
  if (!v.is_number()) return unexpected(std::string("must be a USD amount (a number) or null"));
  double usd = v.to_number<double>();
  if (!std::isfinite(usd) || usd < 0 || usd > 1e12) return unexpected(std::string("must be a USD amount ≥ 0"));
  return static_cast<int64_t>(std::llround(usd * 1e6));
}

// "30d", "12h" from now; a UTC date or date-time; epoch milliseconds; null or "never": no expiry.
Expected<int64_t, std::string> expiry(const bjson::value& v, int64_t now) {
  if (v.is_null()) return int64_t{0};
  if (v.is_int64() && v.as_int64() > now) return v.as_int64();
  if (!v.is_string()) return unexpected(std::string("must be a time (\"30d\", \"2027-01-01\") or null"));
  std::string_view text = v.as_string();
  if (text == "never") return int64_t{0};
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  bool relative = digits > 0 && digits < text.size() &&
                  text.find_first_not_of("abcdefghijklmnopqrstuvwxyz", digits) == std::string_view::npos;
  auto point = storage::parse_time_point(text, now);
  if (!point) return unexpected(point.error());
  int64_t at = relative ? now + (now - *point) : *point;  // "30d" means 30 days ago to the parser
  if (at <= now) return unexpected(std::string(text) + " is not in the future");
  return at;
}

Expected<KeyBody, AdminAnswer> read_body(const AdminRequest& request, bool create) {
  boost::system::error_code ec;
  bjson::value doc = bjson::parse(request.body.empty() ? std::string_view("{}") : std::string_view(request.body), ec);
  if (ec) return unexpected(error_answer(bad_request("the body is not valid JSON: " + ec.message(), {}, "invalid_json")));
  if (!doc.is_object()) return unexpected(error_answer(bad_request("the body must be a JSON object", {}, "invalid_json")));
  KeyBody out;
  std::vector<FieldProblem> problems;
  int64_t now = now_ms();
  for (const auto& [key, value] : doc.as_object()) {
    std::string field(key);
    out.fields.push_back(field);
    auto problem = [&](std::string message) { problems.push_back({field, std::move(message)}); };
    if (field == "name" && create) {
      if (!value.is_string() || !valid_name(value.as_string()))
        problem("must be 1-40 letters, digits, '.', '_' or '-'");
      else
        out.name = value.as_string();
    } else if (field == "models") {
      std::vector<std::string> models;
      if (!value.is_array() && !value.is_null()) problem("must be a list of model names (empty or null: every model)");
      else if (value.is_array())
        for (const auto& m : value.as_array()) {
          if (!m.is_string() || m.as_string().empty() || std::string_view(m.as_string()).find_first_of(",\n\r") != std::string_view::npos)
            problem("must be a list of model names");
          else
            models.emplace_back(m.as_string());
        }
      out.changes.models = std::move(models);
    } else if (field == "rpm" || field == "tpm") {
      auto n = whole_number(value);
      if (!n) problem(n.error());
      else (field == "rpm" ? out.changes.rpm : out.changes.tpm) = *n;
    } else if (field == "budget") {
      if (!value.is_object()) {
        problem("must be {\"daily\": USD, \"monthly\": USD}");
        continue;
      }
      for (const auto& [period, amount] : value.as_object()) {
        std::string at = "budget." + std::string(period);
        if (period != "daily" && period != "monthly") {
          problems.push_back({at, "unknown field (expected daily or monthly)"});
          continue;
        }
        auto micro = usd_amount(amount);
        if (!micro) problems.push_back({at, micro.error()});
        else (period == "daily" ? out.changes.daily_micro_usd : out.changes.monthly_micro_usd) = *micro;
      }
    } else if (field == "expires") {
      auto at = expiry(value, now);
      if (!at) problem(at.error());
      else out.changes.expires_ms = *at;
    } else {
      problem(create ? "unknown field (expected name, models, rpm, tpm, budget, expires)"
                     : "unknown field (expected models, rpm, tpm, budget, expires)");
    }
  }
  if (create && out.name.empty() && std::none_of(problems.begin(), problems.end(), [](auto& p) { return p.field == "name"; }))
    problems.push_back({"name", "is required"});
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems) message += (message.empty() ? "" : "; ") + p.field + ": " + p.message;
    return unexpected(error_answer(bad_request(message, problems.front().field), problems));
  }
  return out;
}

void audit(AdminContext& context, const AdminRequest& request, std::string action, const storage::StoredKey& key,
           std::vector<std::string> fields) {
  if (auto written = context.audit().append({request.admin_id, std::move(action), key.id, std::move(fields)}); !written)
    observability::log_warning(written.error());
}

AdminAnswer key_answer(const storage::StoredKey& key, int status = 200) {
  return json_answer(bjson::serialize(bjson::object{{"key", key_json(key)}}), status);
}

}  // namespace

AdminAnswer list_keys(AdminContext& context, const AdminRequest&) {
  auto* store = context.key_store();
  if (!store) return no_store();
  auto keys = store->list();
  if (!keys) return store_error(keys.error());
  bjson::array list;
  for (const auto& k : *keys) list.push_back(key_json(k));
  return json_answer(bjson::serialize(bjson::object{{"keys", std::move(list)}}));
}

AdminAnswer create_key(AdminContext& context, const AdminRequest& request) {
  auto* store = context.key_store();
  if (!store) return no_store();
  auto body = read_body(request, true);
  if (!body) return std::move(body.error());
  std::string secret = governance::generate_virtual_key();
  if (secret.empty()) return error_answer(Error::make(ErrorKind::internal, "the random generator failed", {}, "key_store_failed"));
  auto created = store->create(governance::new_stored_key(body->name, secret, body->changes, now_ms()));
  if (!created) return store_error(created.error());
  audit(context, request, "key.create", *created, body->fields);
  auto answer = json_answer(bjson::serialize(bjson::object{{"key", key_json(*created)}, {"secret", secret}}), 201);
  answer.headers = "Location: /api/keys/" + created->id + "\r\n";
  return answer;
}

AdminAnswer get_key(AdminContext& context, const AdminRequest& request) {
  auto* store = context.key_store();
  if (!store) return no_store();
  auto key = store->find(request.params.at(0));
  if (!key) return store_error(key.error());
  return key_answer(*key);
}

AdminAnswer patch_key(AdminContext& context, const AdminRequest& request) {
  auto* store = context.key_store();
  if (!store) return no_store();
  auto body = read_body(request, false);
  if (!body) return std::move(body.error());
  auto key = store->update(request.params.at(0), body->changes);
  if (!key) return store_error(key.error());
  audit(context, request, "key.update", *key, body->fields);
  return key_answer(*key);
}

AdminAnswer delete_key(AdminContext& context, const AdminRequest& request) {
  auto* store = context.key_store();
  if (!store) return no_store();
  auto key = store->revoke(request.params.at(0), now_ms());
  if (!key) return store_error(key.error());
  audit(context, request, "key.revoke", *key, {});
  return key_answer(*key);
}

}  // namespace llmux::admin
