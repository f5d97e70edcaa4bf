// Every write runs the same steps under the provider store's directory lock (the lock
// `llmux provider add` takes, so the CLI and the API never lose each other's change):
//   read the store -> refuse config-file providers (409) -> check If-Match (412) -> build the new
//   mapping -> validate the file it would make with the config loader (400, every problem) ->
//   dry run: answer here -> vault, store -> apply to the running gateway -> audit -> answer.
// A change the running gateway refuses (apply() fails) is rolled back: the store file and the
// vault get their previous content back and the gateway is applied again.
#include "admin/provider_writes.hpp"

#include <boost/json.hpp>

#include <cstdio>

#include "admin/audit_log.hpp"
#include "admin/provider_json.hpp"
#include "admin/provider_reads.hpp"
#include "config/config_internal.hpp"
#include "config/key_scopes.hpp"
#include "server/gateway_state.hpp"
#include "store/prompts.hpp"
#include "store/provider_edit.hpp"
#include "store/provider_store.hpp"
#include "store/vault.hpp"

namespace llmux::admin {

namespace bjson = boost::json;
using store::FailKind;
using store::Failure;

namespace {

Error error_of(ErrorKind kind, int status, std::string message, std::string code) {
  Error e = Error::make(kind, std::move(message), {}, std::move(code));
  e.http_status = status;
  return e;
}

AdminAnswer fail(ErrorKind kind, int status, std::string message, std::string code) {
  return error_answer(error_of(kind, status, std::move(message), std::move(code)));
}

AdminAnswer invalid_config(const FieldErrors& errors) {
  std::vector<FieldProblem> problems;
  for (const auto& e : errors) problems.push_back({e.field, e.message});
  return error_answer(error_of(ErrorKind::invalid_request, 400, "invalid provider config: " + joined_message(errors),
                               "invalid_provider_config"),
                      problems);
}

AdminAnswer store_failure(const Failure& f) {
  std::string message;
  for (const auto& m : f.messages) message += (message.empty() ? "" : "; ") + m;
  switch (f.kind) {
    case FailKind::invalid: return invalid_config({{"", message}});
    case FailKind::not_found: return fail(ErrorKind::not_found, 404, message, "provider_not_found");
    case FailKind::conflict: return fail(ErrorKind::invalid_request, 409, message, "provider_exists");
    case FailKind::vault: return fail(ErrorKind::internal, 500, "the key vault cannot be used: " + message, "vault_error");
    case FailKind::broken:
    case FailKind::io: break;
  }
  return fail(ErrorKind::internal, 500, message, "provider_store_error");
}

bool dry_run(const AdminRequest& request) {
  std::string_view q = request.query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    if (pair == "dry_run" || pair == "dry_run=true" || pair == "dry_run=1" || pair == "dryRun=true") return true;
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
  }
  return false;
}

// If-Match: absent or "*" passes; otherwise one of the listed tags (weak or strong) must match.
bool if_match_passes(const std::string& header, const std::string& etag) {
  if (header.empty()) return true;
  std::string_view rest = header;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view tag = rest.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return false;
}

std::string camel(std::string_view name) {
  std::string snake = config_detail::to_snake(name), out;
  bool upper = false;
  for (char c : snake) {
    if (c == '_' || c == '-') {
      upper = !out.empty();
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

const ProviderConfig* running(const server::GatewayState& state, const std::string& id) {
  for (const auto& p : state.config.providers)
    if (p.id == id) return &p;
  return nullptr;
}

std::string default_provider(const store::Paths& paths) {
  auto settings = store::Settings::load(paths.settings());
  return settings ? settings->default_provider : std::string();
}

void remove_api_key_settings(YAML::Node& settings) {
  while (auto key = store::find_key(settings, "api_key")) settings.remove(*key);
}

// One write: the locked store and what the request asks to change.
class Write {
 public:
  Write(AdminContext& context, const AdminRequest& request, std::string action)
      : context_(context), request_(request), action_(std::move(action)), store_(context.paths().providers()) {}

  // Locks the store's directory and reads the store.
  std::optional<AdminAnswer> open() {
    const auto& paths = context_.paths();
    if (auto dir = store::ensure_dir(paths.config_dir, 0700); !dir) return store_failure(dir.error());
    lock_ = std::make_unique<store::DirLock>(paths.config_dir);
    if (auto loaded = store_.load(); !loaded) return store_failure(loaded.error());
    return std::nullopt;
  }

  store::ProviderStore& store() { return store_; }
  AdminContext& context() { return context_; }

  // 409 for a provider the API must not change: one from the config file (or found by
  // discovery, which only a config edit or the store can override).
  std::optional<AdminAnswer> refuse_foreign(const std::string& id) {
    if (store_.find(id)) return std::nullopt;
    auto origin = context_.origin_of(id);
    std::string file, kind;
    if (origin) {
      kind = origin->kind;
      file = origin->file + (origin->line > 0 ? ":" + std::to_string(origin->line) : "");
    } else if (const auto* p = running(*context_.state(), id)) {
      kind = "config";
      file = p->source.file + (p->source.line > 0 ? ":" + std::to_string(p->source.line) : "");
    }
    if (kind.empty() || kind == "store") return std::nullopt;
    if (kind == "config")
      return fail(ErrorKind::invalid_request, 409,
                  "provider '" + id + "' is defined in the config file " + file +
                      " and is read-only through the admin API; edit that file",
                  "provider_read_only");
    return fail(ErrorKind::invalid_request, 409,
                "provider '" + id + "' comes from " + kind +
                    " discovery, not the provider store, and is read-only through the admin API; register a provider "
                    "of that name to override it",
                "provider_read_only");
  }

  std::optional<AdminAnswer> require_stored(const std::string& id) {
    if (auto refused = refuse_foreign(id)) return refused;
    if (store_.find(id)) return std::nullopt;
    return store_failure(store::unknown_provider(id, store_.ids(), false));
  }

  std::optional<AdminAnswer> check_if_match(const std::string& id) {
    auto existing = store_.find(id);
    if (!existing) return std::nullopt;
    std::string etag = provider_etag(existing->node);
    if (if_match_passes(request_.if_match, etag)) return std::nullopt;
    return fail(ErrorKind::invalid_request, 412,
                "provider '" + id + "' was changed since you read it (If-Match " + request_.if_match +
                    ", now " + etag + "): read it again and retry",
                "etag_mismatch");
  }

  // The loader's verdict on the store with `settings` (as spelled) for `id`; nullopt = valid.
  // The typed provider is kept for a dry run's answer.
  std::optional<AdminAnswer> validate(const std::string& id, const YAML::Node& settings) {
    auto config = load_config_text(store_.text_with(id, settings), store_.path());
    if (!config) return invalid_config(field_errors(config.error(), id, settings));
    for (auto& p : config->providers)
      if (p.id == id) validated_ = std::move(p);
    return std::nullopt;
  }

  // The answer of a dry run: what would be written (the provider as it would be served).
  AdminAnswer dry_run_answer(const std::string& id, const YAML::Node& stored, const std::optional<Secret>& key,
                             std::vector<std::string> fields) {
    ProviderConfig shown = validated_.value_or(ProviderConfig{});
    if (key) shown.api_key = *key;
    ProviderView view{&shown, &stored, "store", default_provider(context_.paths()) == id};
    bjson::array changed;
    for (auto& f : fields) changed.emplace_back(f);
    bjson::object body{{"dryRun", true}, {"valid", true}, {"provider", provider_json(view)}, {"fields", std::move(changed)}};
    AdminAnswer answer = json_answer(bjson::serialize(body));
    answer.headers = "ETag: " + provider_etag(stored) + "\r\n";
    return answer;
  }

  // Writes the key (nullopt: unchanged; an empty Secret: removed) and the mapping (nullopt:
  // removed), applies, and rolls everything back when the gateway refuses it.
  std::optional<AdminAnswer> commit(const std::string& id, const std::optional<YAML::Node>& stored,
                                    const std::optional<Secret>& key) {
    std::string old_text = store_.text();
    bool old_exists = store_.exists();
    store::Vault vault(context_.paths());
    std::optional<Secret> old_key;
    if (key) {
      if (auto loaded = vault.load(); !loaded) return store_failure(loaded.error());
      if (vault.contains(id)) {
        auto previous = vault.get(id);
        if (!previous) return store_failure(previous.error());
        old_key = std::move(*previous);
      }
      if (key->empty()) {
        if (auto removed = vault.remove(id); !removed) return store_failure(removed.error());
      } else if (auto put = vault.put(id, *key); !put) {
        return store_failure(put.error());
      }
    }
    auto restore_vault = [&] {
      if (!key) return;
      if (old_key) (void)vault.put(id, *old_key);
      else if (!key->empty()) (void)vault.remove(id);
    };
    auto written = stored ? store_.put(id, *stored) : store_.remove(id);
    if (!written) {
      restore_vault();
      return store_failure(written.error());
    }
    auto applied = context_.apply();
    if (applied) return std::nullopt;
    // The gateway refused the result: put everything back as it was.
    if (old_exists) (void)store::write_file_atomic(store_.path(), old_text, 0600);
    else std::remove(store_.path().c_str());
    (void)store_.load();
    restore_vault();
    (void)context_.apply();
    FieldErrors errors;
    for (const auto& line : applied.error()) errors.push_back({"", line});
    return invalid_config(errors);
  }

  // Appends the audit line; a failure to write it is said in the answer, the change stays.
  std::string audit(const std::string& id, const std::vector<std::string>& fields) {
    AuditEntry entry{request_.admin_id, action_, id, {}};
    for (const auto& f : fields) {
      std::string name = camel(f);
      if (std::find(entry.fields.begin(), entry.fields.end(), name) == entry.fields.end()) entry.fields.push_back(name);
    }
    auto appended = context_.audit().append(entry);
    return appended ? std::string() : appended.error();
  }

  // {"provider": …} as GET /api/providers/{name} answers it now (the running gateway's view,
  // with the same ETag), plus whether it is the default provider.
  AdminAnswer provider_answer(const std::string& id, int status, const std::string& audit_error) {
    AdminRequest read;
    read.path = "/api/providers/" + id;
    read.params = {id};
    AdminAnswer answer = get_provider(context_, read);
    if (answer.status != 200) return answer;
    boost::system::error_code ec;
    bjson::value provider = bjson::parse(answer.body, ec);
    if (ec || !provider.is_object()) return answer;
    provider.as_object()["default"] = default_provider(context_.paths()) == id;
    bjson::object body{{"provider", std::move(provider)}};
    if (!audit_error.empty()) body["warnings"] = bjson::array{bjson::value("audit log: " + audit_error)};
    answer.body = bjson::serialize(body);
    answer.status = status;
    return answer;
  }

 private:
  AdminContext& context_;
  const AdminRequest& request_;
  std::string action_;
  store::ProviderStore store_;
  std::unique_ptr<store::DirLock> lock_;
  std::optional<ProviderConfig> validated_;
};

const std::string& path_name(const AdminRequest& request) {
  static const std::string none;
  return request.params.empty() ? none : request.params.front();
}

// The key the input asks for: a new one, an empty Secret to remove it, nullopt to keep it.
std::optional<Secret> key_change(const ProviderInput& in) {
  if (in.api_key) return in.api_key;
  if (in.remove_api_key) return Secret();
  return std::nullopt;
}

std::vector<std::string> without_id(std::vector<std::string> fields) {
  fields.erase(std::remove_if(fields.begin(), fields.end(), [](const std::string& f) { return config_detail::fold(f) == "id"; }),
               fields.end());
  return fields;
}

// Top-level keys whose value differs between two mappings (written names).
std::vector<std::string> changed_fields(const YAML::Node& before, const YAML::Node& after) {
  std::vector<std::string> out;
  auto value_of = [](const YAML::Node& map, const std::string& key) {
    auto found = store::find_key(map, config_detail::to_snake(key));
    return found ? store::emit_entry("v", map[*found], 0) : std::string();
  };
  for (const YAML::Node* side : {&before, &after}) {
    if (!side->IsMap()) continue;
    for (auto it = side->begin(); it != side->end(); ++it) {
      std::string key = it->first.Scalar();
      if (value_of(before, key) != value_of(after, key) &&
          std::find(out.begin(), out.end(), camel(key)) == out.end())
        out.push_back(camel(key));
    }
  }
  return out;
}

// PUT and PATCH: the new mapping from the stored one and the body.
AdminAnswer rewrite(AdminContext& context, const AdminRequest& request, BodyMode mode) {
  const std::string& id = path_name(request);
  auto in = parse_provider_body(request.body, mode);
  if (!in) return invalid_config(in.error());
  if (!in->id.empty() && in->id != id) {
    auto field = std::find_if(in->fields.begin(), in->fields.end(),
                              [](const std::string& f) { return config_detail::fold(f) == "id"; });
    return invalid_config({{field != in->fields.end() ? *field : "id",
                            "\"" + in->id + "\" differs from the provider in the path (\"" + id +
                                "\"); a provider is renamed by registering the new name and deleting the old one"}});
  }
  Write write(context, request, mode == BodyMode::patch ? "provider.update" : "provider.replace");
  if (auto failed = write.open()) return *failed;
  if (auto refused = write.require_stored(id)) return *refused;
  if (auto stale = write.check_if_match(id)) return *stale;
  YAML::Node before = write.store().find(id)->node;
  YAML::Node spelled = mode == BodyMode::patch ? merge_settings(before, in->settings) : YAML::Clone(in->settings);
  // A new key goes to the vault, which the loader uses only for providers without api_key.
  if (in->api_key || in->remove_api_key) remove_api_key_settings(spelled);
  if (auto invalid = write.validate(id, spelled)) return *invalid;
  YAML::Node stored = canonical_settings(spelled);
  std::vector<std::string> fields = mode == BodyMode::patch ? in->fields : changed_fields(before, stored);
  if (mode == BodyMode::whole && (in->api_key || in->remove_api_key)) fields.push_back("apiKey");
  if (mode == BodyMode::patch) fields = without_id(std::move(fields));
  if (dry_run(request)) return write.dry_run_answer(id, stored, in->api_key, fields);
  if (auto failed = write.commit(id, stored, key_change(*in))) return *failed;
  return write.provider_answer(id, 200, write.audit(id, fields));
}

AdminAnswer set_enabled(AdminContext& context, const AdminRequest& request, bool enabled) {
  const std::string& id = path_name(request);
  Write write(context, request, enabled ? "provider.enable" : "provider.disable");
  if (auto failed = write.open()) return *failed;
  if (auto refused = write.require_stored(id)) return *refused;
  if (auto stale = write.check_if_match(id)) return *stale;
  YAML::Node stored = YAML::Clone(write.store().find(id)->node);
  store::ProviderEdit edit;
  edit.enabled = enabled;
  store::apply_edit(stored, edit);
  if (auto invalid = write.validate(id, stored)) return *invalid;
  if (dry_run(request)) return write.dry_run_answer(id, stored, std::nullopt, {"enabled"});
  if (auto failed = write.commit(id, stored, std::nullopt)) return *failed;
  return write.provider_answer(id, 200, write.audit(id, {"enabled"}));
}

}  // namespace

AdminAnswer register_provider(AdminContext& context, const AdminRequest& request) {
  auto in = parse_provider_body(request.body, BodyMode::whole);
  if (!in) return invalid_config(in.error());
  if (in->id.empty() && in->name.empty())
    return invalid_config({{"id", "a provider needs an id (or a name made of letters, digits, '.', '_' and '-')"}});
  // ClosedPaw's short form names a provider by its name alone.
  const std::string id = in->id.empty() ? in->name : in->id;
  if (!config_detail::is_valid_provider_id(id))
    return invalid_config({{"name", invalid_id_message(id) + " (or give an id and keep name for display)"}});
  Write write(context, request, "provider.register");
  if (auto failed = write.open()) return *failed;
  if (auto existing = write.store().find(id))
    return fail(ErrorKind::invalid_request, 409,
                "provider '" + id + "' already exists (in " + write.store().path() + ":" + std::to_string(existing->line) +
                    "); change it with PUT or PATCH /api/providers/" + id,
                "provider_exists");
  if (const auto* p = running(*context.state(), id)) {
    std::string where = p->source.file.empty() ? std::string("the running gateway") : p->source.file;
    return fail(ErrorKind::invalid_request, 409,
                "provider '" + id + "' already exists (from " + where + "); pick another name", "provider_exists");
  }
  if (auto invalid = write.validate(id, in->settings)) return *invalid;
  YAML::Node stored = canonical_settings(in->settings);
  std::vector<std::string> fields = without_id(in->fields);
  if (dry_run(request)) return write.dry_run_answer(id, stored, in->api_key, fields);
  if (auto failed = write.commit(id, stored, in->api_key)) return *failed;
  AdminAnswer answer = write.provider_answer(id, 201, write.audit(id, fields));
  answer.headers += "Location: /api/providers/" + id + "\r\n";
  return answer;
}

AdminAnswer put_provider(AdminContext& context, const AdminRequest& request) {
  return rewrite(context, request, BodyMode::whole);
}

AdminAnswer patch_provider(AdminContext& context, const AdminRequest& request) {
  return rewrite(context, request, BodyMode::patch);
}

AdminAnswer delete_provider(AdminContext& context, const AdminRequest& request) {
  const std::string& id = path_name(request);
  Write write(context, request, "provider.delete");
  if (auto failed = write.open()) return *failed;
  if (auto refused = write.require_stored(id)) return *refused;
  if (auto stale = write.check_if_match(id)) return *stale;
  // A removal the loader cannot take (another provider's setting naming it) is refused here.
  if (auto config = load_config_text(write.store().text_with(id, std::nullopt), write.store().path()); !config)
    return invalid_config(field_errors(config.error(), id, YAML::Node()));
  if (dry_run(request))
    return json_answer(bjson::serialize(bjson::object{{"dryRun", true}, {"valid", true}, {"deleted", id}}));
  // The key goes with the provider: a later provider of the same name must not inherit it.
  store::Vault vault(context.paths());
  bool has_key = vault.load() && vault.contains(id);
  if (auto failed = write.commit(id, std::nullopt, has_key ? std::optional<Secret>(Secret()) : std::nullopt)) return *failed;
  const auto& paths = context.paths();
  if (default_provider(paths) == id) {
    store::Settings settings;
    (void)settings.save(paths.settings());
  }
  std::string audit_error = write.audit(id, {});
  bjson::object body{{"deleted", id}};
  if (!audit_error.empty()) body["warnings"] = bjson::array{bjson::value("audit log: " + audit_error)};
  return json_answer(bjson::serialize(body));
}

AdminAnswer set_default_provider(AdminContext& context, const AdminRequest& request) {
  const std::string& id = path_name(request);
  Write write(context, request, "provider.default");
  if (auto failed = write.open()) return *failed;
  if (!running(*context.state(), id) && !write.store().find(id)) {
    std::vector<std::string> known;
    for (const auto& p : context.state()->config.providers) known.push_back(p.id);
    return store_failure(store::unknown_provider(id, known, false));
  }
  if (auto stale = write.check_if_match(id)) return *stale;
  if (dry_run(request))
    return json_answer(bjson::serialize(bjson::object{{"dryRun", true}, {"valid", true}, {"default", id}}));
  // The default of `llmux provider default`: settings.yaml, used by the CLI's chat, run and
  // models when no provider is named.
  store::Settings settings;
  if (auto loaded = store::Settings::load(context.paths().settings())) settings = *loaded;
  settings.default_provider = id;
  if (auto saved = settings.save(context.paths().settings()); !saved) return store_failure(saved.error());
  return write.provider_answer(id, 200, write.audit(id, {"default"}));
}

AdminAnswer enable_provider(AdminContext& context, const AdminRequest& request) {
  return set_enabled(context, request, true);
}

AdminAnswer disable_provider(AdminContext& context, const AdminRequest& request) {
  return set_enabled(context, request, false);
}

}  // namespace llmux::admin
