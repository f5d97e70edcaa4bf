// chat, run, models, prompt create|list|show|remove
#include <unistd.h>

#include <cstdio>
#include <future>
#include <map>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "config/config_internal.hpp"
#include "json/request_view.hpp"
#include "providers/provider.hpp"
#include "router/model_catalog.hpp"
#include "store/prompts.hpp"

namespace llmux::cli {

namespace bjson = boost::json;
using store::FailKind;
using store::Failure;

namespace {

store::Result<Picked> pick(const ChatArgs& args) {
  if (!args.gateway.empty()) {
    if (args.provider.empty() && args.model.empty())
      return unexpected(Failure::of(FailKind::invalid,
                                    "with --gateway, name what to ask for: --provider NAME and/or --model MODEL"));
    return gateway_provider({args.gateway, args.gateway_key}, args.provider, args.model);
  }
  auto session = open_session(args.config_file);
  if (!session) return unexpected(session.error());
  return pick_provider(*session, args.provider);
}

ChatRequest make_request(const ChatArgs& args, const Picked& picked, const std::string& system,
                         const std::string& user) {
  ChatRequest r;
  r.provider = picked.config.id;
  r.model = picked.gateway ? picked.gateway_model : args.model;
  if (!system.empty()) r.messages.push_back({"system", system});
  r.messages.push_back({"user", user});
  r.temperature = args.temperature;
  r.max_tokens = args.max_tokens;
  return r;
}

bjson::object response_json(const ChatResponse& r) {
  return {{"id", r.id},
          {"provider", r.provider},
          {"model", r.model},
          {"content", r.content},
          {"finish_reason", r.finish_reason},
          {"usage",
           {{"prompt_tokens", r.usage.prompt_tokens},
            {"completion_tokens", r.usage.completion_tokens},
            {"total_tokens", r.usage.total_tokens}}}};
}

int send_chat(const ChatArgs& args, const Picked& picked, const std::string& system, const std::string& user) {
  warn_about(picked);
  Client client;
  if (auto ok = register_provider(client, picked); !ok) return report(ok.error());
  ChatRequest request = make_request(args, picked, system, user);
  Expected<ChatResponse, Error> reply = unexpected(Error{});
  bool printed = false, ends_with_newline = true;
  if (args.stream) {
    std::optional<Spinner> spinner;
    if (args.json) spinner.emplace("waiting for " + picked.config.id + "…");
    reply = client.chat_stream(request, [&](std::string_view piece) {
      if (args.json || piece.empty()) return;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      printed = true;
      ends_with_newline = piece.back() == '\n';
    });
  } else {
    Spinner spinner("waiting for " + picked.config.id + "…");
    reply = client.chat(request);
  }
  if (!reply) {
    if (printed && !ends_with_newline) std::printf("\n");
    return report_provider_error(reply.error(), picked, &client);
  }
  if (args.json) {
    print_json(response_json(*reply));
  } else if (!args.stream) {
    std::printf("%s%s", reply->content.c_str(),
                !reply->content.empty() && reply->content.back() == '\n' ? "" : "\n");
  } else if (!ends_with_newline) {
    std::printf("\n");
  }
  std::fflush(stdout);
  if (args.usage)
    std::fprintf(stderr, "%s: %lld prompt + %lld completion = %lld tokens\n", reply->model.c_str(),
                 static_cast<long long>(reply->usage.prompt_tokens),
                 static_cast<long long>(reply->usage.completion_tokens),
                 static_cast<long long>(reply->usage.total_tokens));
  return kOk;
}

// "Name: value" with credentials redacted to their last 4 characters.
std::string redact_header_line(const std::string& line, const Secret& key) {
  size_t colon = line.find(':');
  if (colon == std::string::npos) return line;
  std::string name = line.substr(0, colon);
  std::string value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.erase(0, 1);
  bool contains_key = !key.empty() && value.find(key.reveal()) != std::string::npos;
  if (!contains_key && !config_detail::is_sensitive_header(name)) return line;
  for (const char* scheme : {"Bearer ", "Basic ", "Token "})
    if (value.rfind(scheme, 0) == 0) return name + ": " + scheme + Secret(value.substr(std::string(scheme).size())).redacted();
  return name + ": " + Secret(value).redacted();
}

// The exact upstream request the chat would send, built by the same provider code.
int dry_run(const ChatArgs& args, const Picked& picked, const std::string& prompt_name, const std::string& system,
            const std::string& user) {
  ProviderConfig config = picked.config;
  config.enabled = true;
  std::vector<std::unique_ptr<providers::Provider>> list;
  auto made = providers::make_provider(config);
  if (!made) return report(Failure::of(FailKind::invalid, made.error()));
  list.push_back(std::move(*made));
  router::ModelCatalog catalog(list);
  ChatRequest r = make_request(args, picked, system, user);
  auto resolved = catalog.resolve(r.model, r.provider);
  if (!resolved) return report_provider_error(resolved.error(), picked, nullptr);
  std::string text = chat_request_body(r, args.stream);
  auto fields = json::read_request(text);
  if (!fields) return report(Failure::of(FailKind::invalid, fields.error().message));
  providers::EncodeInput input{providers::Endpoint::chat_completions, text, &fields.value(),
                               resolved->upstream_model, {}, args.stream};
  auto encoded = resolved->provider->encode(input);
  if (!encoded) return report(Failure::of(FailKind::invalid, encoded.error().message));
  std::vector<std::string> headers;
  for (const auto& h : encoded->all_headers()) headers.push_back(redact_header_line(h, config.api_key));
  boost::system::error_code ec;
  auto sent_body = bjson::parse(encoded->body, ec);
  if (args.json) {
    bjson::array hs;
    for (const auto& h : headers) hs.push_back(bjson::value(h));
    bjson::object o{{"prompt", {{"name", prompt_name}, {"system", system}, {"user", user}}},
                    {"request",
                     {{"method", encoded->method},
                      {"url", encoded->url},
                      {"headers", std::move(hs)},
                      {"body", ec ? bjson::value(encoded->body) : sent_body}}}};
    print_json(o);
    return kOk;
  }
  bool on = stdout_color();
  std::printf("%s\n", paint("rendered prompt '" + prompt_name + "':", "1", on).c_str());
  if (!system.empty()) std::printf("  system: %s\n", system.c_str());
  std::printf("  user:   %s\n\n", user.c_str());
  std::printf("%s\n", paint("request (dry run: nothing was sent):", "1", on).c_str());
  std::printf("%s %s\n", encoded->method.c_str(), encoded->url.c_str());
  for (const auto& h : headers) std::printf("%s\n", h.c_str());
  std::printf("\n%s\n", ec ? encoded->body.c_str() : pretty_json(sent_body).c_str());
  return kOk;
}

store::Result<std::string> prompt_text(const ChatArgs& args) {
  if (!args.prompt.empty() && args.prompt != "-") return args.prompt;
  if (::isatty(STDIN_FILENO) == 1)
    return unexpected(Failure::of(FailKind::invalid, "no prompt: llmux chat \"PROMPT\" (or pipe it on stdin)"));
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(STDIN_FILENO, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) return unexpected(Failure::of(FailKind::invalid, "no prompt on stdin"));
  return text;
}

}  // namespace

int chat(ChatArgs args) {
  auto prompt = prompt_text(args);
  if (!prompt) return report(prompt.error());
  auto picked = pick(args);
  if (!picked) return report(picked.error());
  return send_chat(args, *picked, args.system, *prompt);
}

int run_prompt(RunArgs args) {
  auto paths = store::Paths::from_environment();
  store::PromptStore prompts(paths.prompts());
  if (auto ok = prompts.load(); !ok) return report(ok.error());
  const auto* prompt = prompts.find(args.name);
  if (!prompt) return report(store::unknown_prompt(args.name, prompts.prompts()));
  std::map<std::string, std::string> values;
  Failure bad{FailKind::invalid, {}};
  for (const auto& p : args.params) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      bad.messages.push_back("invalid --param \"" + p + "\": expected NAME=VALUE");
      continue;
    }
    if (!values.emplace(p.substr(0, eq), p.substr(eq + 1)).second)
      bad.messages.push_back("parameter '" + p.substr(0, eq) + "' is given twice");
  }
  if (!bad.messages.empty()) return report(bad);
  auto rendered = store::render_prompt(*prompt, values);
  if (!rendered) return report(rendered.error());
  std::string system = args.chat.system.empty() ? rendered->system : args.chat.system;
  auto picked = pick(args.chat);
  if (!picked) return report(picked.error());
  if (args.dry_run) return dry_run(args.chat, *picked, args.name, system, rendered->text);
  return send_chat(args.chat, *picked, system, rendered->text);
}

int models(const ModelsArgs& args) {
  std::vector<Picked> targets;
  if (!args.gateway.empty()) {
    auto g = gateway_provider({args.gateway, args.gateway_key}, "", "");
    if (!g) return report(g.error());
    targets.push_back(std::move(*g));
  } else {
    auto session = open_session(args.config_file);
    if (!session) return report(session.error());
    if (!args.provider.empty()) {
      auto p = pick_provider(*session, args.provider);
      if (!p) return report(p.error());
      targets.push_back(std::move(*p));
    } else {
      for (const auto& c : session->sources.config.providers) {
        auto p = pick_provider(*session, c.id);
        if (p) targets.push_back(std::move(*p));
      }
    }
  }
  if (targets.empty()) {
    std::printf("no providers yet; add one: llmux provider add NAME URL\n");
    return kOk;
  }
  Client client;
  for (const auto& t : targets)
    if (auto ok = register_provider(client, t); !ok) return report(ok.error());
  std::vector<std::future<Expected<std::vector<ModelInfo>, Error>>> pending;
  {
    Spinner spinner("listing models…");
    for (const auto& t : targets)
      pending.push_back(std::async(std::launch::async, [&client, id = t.config.id] { return client.list_models(id); }));
    for (auto& f : pending) f.wait();
  }
  bjson::array rows, errors;
  Table table({"PROVIDER", "MODEL", "CONFIGURED", "LIVE", "CONTEXT"});
  int status = kOk;
  for (size_t i = 0; i < targets.size(); ++i) {
    const auto& t = targets[i];
    auto listed = pending[i].get();
    std::vector<ModelInfo> models;
    bool live_known = true;
    if (!listed) {
      live_known = false;
      if (args.json) {
        errors.push_back(bjson::object{{"provider", t.config.id}, {"message", listed.error().message}});
      } else {
        print_warning("cannot list the live models of '" + t.config.id + "': " + listed.error().message);
        if (auto hint = provider_error_hint(listed.error(), t); !hint.empty()) print_note(hint);
      }
      status = targets.size() == 1 ? (listed.error().kind == ErrorKind::not_found ? kNotFound : kFailed) : kFailed;
      for (const auto& m : t.config.models) models.push_back({m.id, t.config.id, true, false, m.context_window});
    } else {
      models = std::move(*listed);
    }
    for (const auto& m : models) {
      std::string context = m.context_window ? std::to_string(*m.context_window) : "-";
      table.add({t.config.id, m.id, m.configured ? "yes" : "no", live_known ? (m.live ? "yes" : "no") : "?", context});
      bjson::object o{{"provider", t.config.id}, {"id", m.id}, {"configured", m.configured}};
      o["live"] = live_known ? bjson::value(m.live) : bjson::value(nullptr);
      o["context_window"] = m.context_window ? bjson::value(*m.context_window) : bjson::value(nullptr);
      rows.push_back(std::move(o));
    }
  }
  if (args.json) {
    print_json(bjson::object{{"models", std::move(rows)}, {"errors", std::move(errors)}});
  } else if (table.size() == 0) {
    std::printf("no models\n");
  } else {
    table.print(stdout, [&](size_t, size_t column) -> const char* { return column == 3 ? "32" : nullptr; });
  }
  return status;
}

int prompt_create(const PromptArgs& args) {
  if (!config_detail::is_valid_provider_id(args.name))
    return report(Failure::of(FailKind::invalid, "invalid prompt name '" + args.name + "': use letters, digits, '.', '_' and '-'"));
  if (args.text.empty()) return report(Failure::of(FailKind::invalid, "the template is empty"));
  auto paths = store::Paths::from_environment();
  if (auto dir = store::ensure_dir(paths.config_dir, 0700); !dir) return report(dir.error());
  store::DirLock lock(paths.config_dir);
  store::PromptStore prompts(paths.prompts());
  if (auto ok = prompts.load(); !ok) return report(ok.error());
  if (prompts.find(args.name) && !args.force)
    return report(Failure::of(FailKind::conflict, "prompt '" + args.name + "' already exists; --force replaces it"));
  store::PromptTemplate p{args.name, args.text, args.system, args.description};
  auto params = store::template_params(p);
  if (auto ok = prompts.put(p); !ok) return report(ok.error());
  std::string listed;
  for (const auto& name : params) listed += (listed.empty() ? "" : ", ") + name;
  std::printf("saved prompt '%s' (parameters: %s); run it with: llmux run %s%s\n", args.name.c_str(),
              listed.empty() ? "none" : listed.c_str(), args.name.c_str(),
              params.empty() ? "" : (" --param " + params.front() + "=…").c_str());
  return kOk;
}

namespace {

bjson::object prompt_json(const store::PromptTemplate& p) {
  bjson::array params;
  for (const auto& name : store::template_params(p)) params.push_back(bjson::value(name));
  bjson::object o{{"name", p.name}, {"template", p.text}, {"parameters", std::move(params)}};
  if (!p.system.empty()) o["system"] = p.system;
  if (!p.description.empty()) o["description"] = p.description;
  return o;
}

}  // namespace

int prompt_list(const PromptArgs& args) {
  store::PromptStore prompts(store::Paths::from_environment().prompts());
  if (auto ok = prompts.load(); !ok) return report(ok.error());
  if (args.json) {
    bjson::array list;
    for (const auto& p : prompts.prompts()) list.push_back(prompt_json(p));
    print_json(list);
    return kOk;
  }
  if (prompts.prompts().empty()) {
    std::printf("no prompts yet; create one:\n  llmux prompt create NAME \"Explain this concept: {concept}\"\n");
    return kOk;
  }
  Table table({"NAME", "PARAMETERS", "TEMPLATE"});
  for (const auto& p : prompts.prompts()) {
    std::string params;
    for (const auto& name : store::template_params(p)) params += (params.empty() ? "" : ", ") + name;
    std::string text = p.text.substr(0, p.text.find('\n'));
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    table.add({p.name, params.empty() ? "-" : params, text});
  }
  table.print(stdout);
  return kOk;
}

int prompt_show(const PromptArgs& args) {
  store::PromptStore prompts(store::Paths::from_environment().prompts());
  if (auto ok = prompts.load(); !ok) return report(ok.error());
  const auto* p = prompts.find(args.name);
  if (!p) return report(store::unknown_prompt(args.name, prompts.prompts()));
  if (args.json) {
    print_json(prompt_json(*p));
    return kOk;
  }
  std::string params;
  for (const auto& name : store::template_params(*p)) params += (params.empty() ? "" : ", ") + name;
  bool on = stdout_color();
  std::printf("%s %s\n", paint("name:      ", "1", on).c_str(), p->name.c_str());
  if (!p->description.empty()) std::printf("%s %s\n", paint("about:     ", "1", on).c_str(), p->description.c_str());
  std::printf("%s %s\n", paint("parameters:", "1", on).c_str(), params.empty() ? "none" : params.c_str());
  if (!p->system.empty()) std::printf("%s %s\n", paint("system:    ", "1", on).c_str(), p->system.c_str());
  std::printf("%s %s\n", paint("template:  ", "1", on).c_str(), p->text.c_str());
  return kOk;
}

int prompt_remove(const PromptArgs& args) {
  auto paths = store::Paths::from_environment();
  if (auto dir = store::ensure_dir(paths.config_dir, 0700); !dir) return report(dir.error());
  store::DirLock lock(paths.config_dir);
  store::PromptStore prompts(paths.prompts());
  if (auto ok = prompts.load(); !ok) return report(ok.error());
  if (auto ok = prompts.remove(args.name); !ok) return report(ok.error());
  std::printf("removed prompt '%s'\n", args.name.c_str());
  return kOk;
}

}  // namespace llmux::cli
