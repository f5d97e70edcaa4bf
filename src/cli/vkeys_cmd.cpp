// llmux keys create|list|show|update|revoke: the gateway's virtual keys, in the key store of the
// state dir the gateway uses (the same --config / state_dir resolution as `llmux usage`). A key
// is printed once, by create; the store keeps only its SHA-256 and a short prefix for display.
#include <cmath>
#include <cstdio>
#include <ctime>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "discovery/defaults.hpp"
#include "governance/key_refresher.hpp"
#include "storage/key_store.hpp"
#include "storage/usage_query.hpp"
#include "store/sources.hpp"

namespace llmux::cli {
namespace {

namespace bjson = boost::json;
using storage::KeyStoreError;
using storage::StoredKey;

int exit_for(const KeyStoreError& e) {
  print_error(e.message);
  switch (e.kind) {
    case KeyStoreError::Kind::not_found: return kNotFound;
    case KeyStoreError::Kind::conflict: return kUsage;
    case KeyStoreError::Kind::failed: break;
  }
  return kFailed;
}

// The key store of the state dir `llmux serve --config FILE` would use.
Expected<std::unique_ptr<storage::KeyStore>, int> open_store(const std::string& config_file) {
  store::SourceOptions so;
  so.config_file = config_file;
  so.strict_env = false;
  so.discover = false;
  auto sources = store::assemble(store::Paths::from_environment(), so);
  if (!sources) return unexpected(report(sources.error()));
  const auto& config = sources->config;
  std::string state_dir = config.state_dir.empty() ? discovery::state_dir() : config.state_dir;
  if (auto dir = store::ensure_dir(state_dir, 0700); !dir) return unexpected(report(dir.error()));
  auto opened = storage::open_sqlite_key_store(storage::key_store_path(state_dir));
  if (!opened) return unexpected(exit_for(opened.error()));
  return std::move(*opened);
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 40) return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

// "30d", "12h", "45s", "2w" from now; a UTC date or date-time; "never" (0).
Expected<int64_t, std::string> parse_expiry(const std::string& text, int64_t now_ms) {
  if (text == "never") return int64_t{0};
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  bool relative = digits > 0 && digits < text.size() &&
                  text.find_first_not_of("abcdefghijklmnopqrstuvwxyz", digits) == std::string::npos;
  auto point = storage::parse_time_point(text, now_ms);
  if (!point) return unexpected("--expires: " + point.error() + " (or never)");
  int64_t at = relative ? now_ms + (now_ms - *point) : *point;
  if (at <= now_ms) return unexpected("--expires: " + text + " is not in the future");
  return at;
}

Expected<int64_t, std::string> micro_usd(double usd, const char* flag) {
  if (!std::isfinite(usd) || usd < 0 || usd > 1e12) return unexpected(std::string(flag) + " must be a USD amount ≥ 0");
  return static_cast<int64_t>(std::llround(usd * 1e6));
}

std::optional<std::string> check_models(const std::vector<std::string>& models) {
  for (const auto& m : models)
    if (m.empty() || m.find_first_of(",\n\r") != std::string::npos) return "--models: invalid model name '" + m + "'";
  return std::nullopt;
}

std::string utc_text(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string usd_text(int64_t micro) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(micro) / 1e6);
  return buf;
}

const char* status_of(const StoredKey& k, int64_t now_ms) {
  if (k.revoked_ms) return "revoked";
  if (k.expires_ms && now_ms >= k.expires_ms) return "expired";
  return "active";
}

bjson::object key_json(const StoredKey& k, int64_t now_ms) {
  bjson::array models;
  for (const auto& m : k.models) models.emplace_back(m);
  auto optional_usd = [](int64_t micro) -> bjson::value {
    if (!micro) return nullptr;
    return static_cast<double>(micro) / 1e6;
  };
  auto optional_time = [](int64_t ms) -> bjson::value {
    if (!ms) return nullptr;
    return bjson::string(utc_text(ms));
  };
  return {{"id", k.id},
          {"name", k.name},
          {"prefix", k.prefix},
          {"status", status_of(k, now_ms)},
          {"models", std::move(models)},
          {"limits", {{"rpm", k.limits.rpm}, {"tpm", k.limits.tpm}}},
          {"budget", {{"daily_usd", optional_usd(k.budget.daily_micro_usd)},
                      {"monthly_usd", optional_usd(k.budget.monthly_micro_usd)}}},
          {"created", utc_text(k.created_ms)},
          {"expires", optional_time(k.expires_ms)},
          {"revoked", optional_time(k.revoked_ms)}};
}

std::string or_dash(int64_t v, const std::string& text) { return v ? text : "-"; }

std::string models_text(const StoredKey& k) {
  if (k.models.empty()) return "all";
  std::string out;
  for (const auto& m : k.models) out += (out.empty() ? "" : ",") + m;
  return out;
}

void print_key(const StoredKey& k, int64_t now_ms) {
  std::printf("id:       %s\nname:     %s\nprefix:   %s…\nstatus:   %s\nmodels:   %s\n", k.id.c_str(), k.name.c_str(),
              k.prefix.c_str(), status_of(k, now_ms), models_text(k).c_str());
  std::printf("rpm:      %s\ntpm:      %s\n", or_dash(k.limits.rpm, std::to_string(k.limits.rpm)).c_str(),
              or_dash(k.limits.tpm, std::to_string(k.limits.tpm)).c_str());
  std::printf("daily:    %s\nmonthly:  %s\n", or_dash(k.budget.daily_micro_usd, "$" + usd_text(k.budget.daily_micro_usd)).c_str(),
              or_dash(k.budget.monthly_micro_usd, "$" + usd_text(k.budget.monthly_micro_usd)).c_str());
  std::printf("created:  %s\nexpires:  %s\nrevoked:  %s\n", utc_text(k.created_ms).c_str(),
              k.expires_ms ? utc_text(k.expires_ms).c_str() : "never",
              k.revoked_ms ? utc_text(k.revoked_ms).c_str() : "no");
}

// The limits and budget flags shared by create and update, into `changes`.
std::optional<std::string> read_limits(const VirtualKeyArgs& a, storage::KeyChanges& changes, int64_t now_ms) {
  if (a.rpm) changes.rpm = *a.rpm;
  if (a.tpm) changes.tpm = *a.tpm;
  if (a.budget_daily) {
    auto v = micro_usd(*a.budget_daily, "--budget-daily");
    if (!v) return v.error();
    changes.daily_micro_usd = *v;
  }
  if (a.budget_monthly) {
    auto v = micro_usd(*a.budget_monthly, "--budget-monthly");
    if (!v) return v.error();
    changes.monthly_micro_usd = *v;
  }
  if (!a.models.empty()) {
    if (auto bad = check_models(a.models)) return bad;
    changes.models = a.models;
  }
  if (a.all_models) changes.models = std::vector<std::string>{};
  if (!a.expires.empty()) {
    auto at = parse_expiry(a.expires, now_ms);
    if (!at) return at.error();
    changes.expires_ms = *at;
  }
  return std::nullopt;
}

Expected<std::unique_ptr<storage::KeyStore>, int> read_limits_and_open(const VirtualKeyArgs& args,
                                                                      storage::KeyChanges& changes, int64_t now_ms) {
  if (auto bad = read_limits(args, changes, now_ms)) {
    print_error(*bad);
    return unexpected(int{kUsage});
  }
  return open_store(args.config_file);
}

}  // namespace

int vkeys_create(const VirtualKeyArgs& args) {
  if (!valid_name(args.name)) {
    print_error("--name must be 1-40 letters, digits, '.', '_' or '-'");
    return kUsage;
  }
  int64_t now = governance::unix_now_ms();
  storage::KeyChanges c;
  auto store = read_limits_and_open(args, c, now);
  if (!store) return store.error();
  std::string key = governance::generate_virtual_key();
  if (key.empty()) {
    print_error("the random generator failed");
    return kFailed;
  }
  auto created = (*store)->create(governance::new_stored_key(args.name, key, c, now));
  if (!created) return exit_for(created.error());
  if (args.json) {
    auto out = key_json(*created, now);
    out["key"] = key;
    print_json(out);
  } else {
    std::printf("%s\n", key.c_str());
    std::fflush(stdout);
    print_note("created the virtual key '" + created->name + "' (" + created->id +
               "); this is the only time it is shown: only its SHA-256 is stored");
  }
  return kOk;
}

int vkeys_list(const VirtualKeyArgs& args) {
  auto store = open_store(args.config_file);
  if (!store) return store.error();
  auto keys = (*store)->list();
  if (!keys) return exit_for(keys.error());
  int64_t now = governance::unix_now_ms();
  if (args.json) {
    bjson::array out;
    for (const auto& k : *keys) out.push_back(key_json(k, now));
    print_json(out);
    return kOk;
  }
  Table table({"id", "name", "prefix", "status", "models", "rpm", "tpm", "daily", "monthly", "created", "expires"});
  for (const auto& k : *keys)
    table.add({k.id, k.name, k.prefix + "…", status_of(k, now), models_text(k), or_dash(k.limits.rpm, std::to_string(k.limits.rpm)),
               or_dash(k.limits.tpm, std::to_string(k.limits.tpm)),
               or_dash(k.budget.daily_micro_usd, "$" + usd_text(k.budget.daily_micro_usd)),
               or_dash(k.budget.monthly_micro_usd, "$" + usd_text(k.budget.monthly_micro_usd)), utc_text(k.created_ms),
               k.expires_ms ? utc_text(k.expires_ms) : "never"});
  if (table.size() == 0) {
    print_note("no virtual keys yet: `llmux keys create --name NAME`");
    return kOk;
  }
  table.print(stdout);
  return kOk;
}

int vkeys_show(const VirtualKeyArgs& args) {
  auto store = open_store(args.config_file);
  if (!store) return store.error();
  auto k = (*store)->find(args.id);
  if (!k) return exit_for(k.error());
  int64_t now = governance::unix_now_ms();
  if (args.json) print_json(key_json(*k, now));
  else print_key(*k, now);
  return kOk;
}

int vkeys_update(const VirtualKeyArgs& args) {
  int64_t now = governance::unix_now_ms();
  storage::KeyChanges c;
  auto store = read_limits_and_open(args, c, now);
  if (!store) return store.error();
  auto k = (*store)->update(args.id, c);
  if (!k) return exit_for(k.error());
  if (args.json) print_json(key_json(*k, now));
  else std::printf("updated the virtual key '%s' (%s); the gateway applies it within %lld ms\n", k->name.c_str(),
                   k->id.c_str(), static_cast<long long>(governance::kKeyPropagationMs));
  return kOk;
}

int vkeys_revoke(const VirtualKeyArgs& args) {
  auto store = open_store(args.config_file);
  if (!store) return store.error();
  int64_t now = governance::unix_now_ms();
  auto k = (*store)->revoke(args.id, now);
  if (!k) return exit_for(k.error());
  if (args.json) print_json(key_json(*k, now));
  else std::printf("revoked the virtual key '%s' (%s); the gateway refuses it within %lld ms\n", k->name.c_str(),
                   k->id.c_str(), static_cast<long long>(governance::kKeyPropagationMs));
  return kOk;
}

}  // namespace llmux::cli
