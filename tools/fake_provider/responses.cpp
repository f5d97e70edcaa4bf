#include "responses.hpp"

#include <chrono>

#include <boost/json.hpp>

namespace llmux::fake {
namespace json = boost::json;

namespace {

std::uint64_t fake_count(const json::object& req, std::string_view key) {
  auto* fake = req.if_contains("fake");
  if (!fake || !fake->is_object()) return 0;
  return positive_int(fake->get_object().if_contains(key)).value_or(0);
}

// The prompt: `instructions`, and `input` as a string or as messages whose content is a string
// or input_text parts. The answer echoes the last user text.
std::string read_input(const json::object& req, std::size_t& prompt_chars) {
  std::string said;
  if (auto* instructions = req.if_contains("instructions"); instructions && instructions->is_string())
    prompt_chars += code_points(instructions->get_string());
  auto* input = req.if_contains("input");
  if (!input) return said;
  if (auto* text = input->if_string()) {
    prompt_chars += code_points(*text);
    return std::string(*text);
  }
  if (auto* items = input->if_array())
    for (auto& item : *items) {
      auto* o = item.if_object();
      auto* content = o ? o->if_contains("content") : nullptr;
      if (!content) continue;
      for_each_text(*content, [&](std::string_view t) { prompt_chars += code_points(t); });
      if (str_field(*o, "role") == "user") said = joined_text(*content);
    }
  return said;
}

struct Ids {
  std::string response, message;
};

std::string usage_json(const Answer& a, std::uint64_t cached, std::uint64_t reasoning) {
  std::string u = "{\"input_tokens\":";
  append_num(u, a.prompt_tokens);
  u += ",\"input_tokens_details\":{\"cached_tokens\":";
  append_num(u, cached);
  u += "},\"output_tokens\":";
  append_num(u, a.completion_tokens);
  u += ",\"output_tokens_details\":{\"reasoning_tokens\":";
  append_num(u, reasoning);
  u += "},\"total_tokens\":";
  append_num(u, a.prompt_tokens + a.completion_tokens);
  u += '}';
  return u;
}

std::string text_part(std::string_view text) {
  std::string p = "{\"type\":\"output_text\",\"text\":";
  append_str(p, text);
  p += ",\"annotations\":[]}";
  return p;
}

std::string message_item(const Ids& ids, std::string_view status, const std::string* text) {
  std::string m = "{\"id\":";
  append_str(m, ids.message);
  m += ",\"type\":\"message\",\"status\":\"";
  m += status;
  m += "\",\"role\":\"assistant\",\"content\":[";
  if (text) m += text_part(*text);
  m += "]}";
  return m;
}

// The response object; `output` and `usage` are JSON text ("[]", "null" while in progress).
std::string response_object(const Ids& ids, std::string_view model, std::string_view status, std::uint64_t created,
                            std::string_view output, std::string_view usage) {
  std::string r = "{\"id\":";
  append_str(r, ids.response);
  r += ",\"object\":\"response\",\"created_at\":";
  append_num(r, created);
  r += ",\"status\":\"";
  r += status;
  r += "\",\"error\":null,\"incomplete_details\":";
  r += status == "incomplete" ? std::string_view("{\"reason\":\"max_output_tokens\"}") : std::string_view("null");
  r += ",\"model\":";
  append_str(r, model);
  r += ",\"output\":";
  r += output;
  r += ",\"parallel_tool_calls\":true,\"tool_choice\":\"auto\",\"tools\":[],\"text\":{\"format\":{\"type\":\"text\"}},";
  r += "\"usage\":";
  r += usage;
  r += '}';
  return r;
}

}  // namespace

Reply responses_answer(const json::object& req, const Script& s, std::string_view model, std::uint64_t id) {
  std::size_t prompt_chars = 0;
  std::string said = read_input(req, prompt_chars);
  Answer a = answer(s, said, prompt_chars, positive_int(req.if_contains("max_output_tokens")));
  const std::uint64_t created = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  Ids ids{"resp_fake" + std::to_string(id), "msg_fake" + std::to_string(id)};
  const std::string_view end_status = a.length ? "incomplete" : "completed";
  const std::string usage = s.usage.value_or(true)
                                ? usage_json(a, std::uint64_t(s.cached_tokens), fake_count(req, "reasoning_tokens"))
                                : std::string("null");
  const std::string done_item = message_item(ids, "completed", &a.text);

  if (!bool_field(req, "stream")) {
    Reply r;
    r.body = response_object(ids, model, end_status, created, "[" + done_item + "]", usage);
    return r;
  }

  Reply r = stream_reply("text/event-stream");
  std::uint64_t sequence = 0;
  // Each event: its type as the SSE event name and as the data's first member, then a sequence number.
  auto push = [&](std::string_view type, std::string_view rest) {
    std::string e = "event: ";
    e += type;
    e += "\ndata: {\"type\":\"";
    e += type;
    e += "\",\"sequence_number\":";
    append_num(e, sequence++);
    e += ',';
    e += rest;
    e += "}\n\n";
    r.events.push_back(std::move(e));
  };
  auto located = [&](std::string_view rest) {
    std::string l = "\"item_id\":";
    append_str(l, ids.message);
    l += ",\"output_index\":0,\"content_index\":0,";
    l += rest;
    return l;
  };
  const std::string empty_output = "[]";
  push("response.created", "\"response\":" + response_object(ids, model, "in_progress", created, empty_output, "null"));
  push("response.in_progress", "\"response\":" + response_object(ids, model, "in_progress", created, empty_output, "null"));
  auto pieces = split_pieces(a.text, s.chunks);
  if (s.stream_error && pieces.empty()) {
    r.first_content = r.events.size();
    push("error", "\"code\":\"server_error\",\"message\":\"The server had an error while processing your request.\",\"param\":null");
    return r;
  }
  push("response.output_item.added", "\"output_index\":0,\"item\":" + message_item(ids, "in_progress", nullptr));
  push("response.content_part.added", located("\"part\":" + text_part("")));
  r.first_content = r.events.size();  // the first text delta: where the stream knobs count from
  for (auto piece : pieces) {
    std::string delta = "\"delta\":";
    append_str(delta, piece);
    delta += ",\"logprobs\":[]";
    push("response.output_text.delta", located(delta));
  }
  if (s.stream_error) {
    push("response.failed", "\"response\":" + response_object(ids, model, "failed", created, empty_output, "null"));
    // The failure names its reason inside the response object.
    std::string& failed = r.events.back();
    const std::string_view no_error = "\"error\":null";
    failed.replace(failed.find(no_error), no_error.size(),
                   "\"error\":{\"code\":\"server_error\",\"message\":\"The model failed mid-answer.\"}");
    return r;
  }
  std::string text = "\"text\":";
  append_str(text, a.text);
  push("response.output_text.done", located(text + ",\"logprobs\":[]"));
  push("response.content_part.done", located("\"part\":" + text_part(a.text)));
  push("response.output_item.done", "\"output_index\":0,\"item\":" + done_item);
  push(a.length ? "response.incomplete" : "response.completed",
       "\"response\":" + response_object(ids, model, end_status, created, "[" + done_item + "]", usage));
  return r;
}

}  // namespace llmux::fake
