// The cost of one request from its token counts and the model's prices (see prices.hpp for the
// units). Plain functions of values: safe from any thread, no allocation.
#pragma once

#include <cstdint>
#include <string_view>

#include "json/request_view.hpp"
#include "llmux/config.hpp"

namespace llmux::governance {

struct Cost {
  int64_t nano_usd = 0;
  bool estimated = false;  // the provider reported no usage: counts estimated from the texts
};

// Billed at each kind's price: uncached input, cache reads, cache writes, visible output,
// reasoning. The parts of a count that its details claim beyond the total (a provider's
// inconsistent numbers) are clamped, so no part is negative or billed twice.
int64_t cost_nano_usd(const json::Usage& usage, const ModelPrices& prices) noexcept;

// Bytes of text a JSON document carries for a model to read or write: the string values of its
// content, text, prompt, input, arguments and reasoning_content members, wherever they are (a
// quick scan, not a parse; escapes count as written). The basis of estimates.
size_t text_bytes_in_json(std::string_view json) noexcept;

// The text bytes of a passed-through stream, for an estimate, at O(1) per event: the first event
// with text is scanned (text_bytes_in_json) to learn the stream's per-event framing (id, model,
// created and the delta's keys repeat in every chunk); every later event counts as its size less
// that framing. An estimate, and marked as one wherever it is used.
class StreamTextEstimate {
 public:
  void add(std::string_view event_data) noexcept {
    if (framing_ == kUnknown) {
      size_t text = text_bytes_in_json(event_data);
      if (text) framing_ = event_data.size() - text;
      bytes_ += text;
    } else if (event_data.size() > framing_) {
      bytes_ += event_data.size() - framing_;
    }
  }
  size_t bytes() const noexcept { return bytes_; }

 private:
  static constexpr size_t kUnknown = static_cast<size_t>(-1);
  size_t framing_ = kUnknown;
  size_t bytes_ = 0;
};

// Tokens in that much text by the usual rule of thumb (about 4 bytes a token): an estimate for
// providers that report no usage, never a count to bill by when one is reported.
int64_t estimate_tokens(size_t text_bytes) noexcept;

// What an estimate starts from when the provider reports no usage: the request body, and the
// answer's body or the text bytes streamed (text_bytes_in_json is run only when needed).
struct EstimateBasis {
  std::string_view request_body;
  std::string_view answer_body;
  size_t streamed_text_bytes = 0;
};

// The usage to bill: `reported` when the provider sent it, else an estimate.
json::Usage billable_usage(const json::Usage& reported, const EstimateBasis& basis) noexcept;

Cost request_cost(const json::Usage& reported, const ModelPrices& prices, const EstimateBasis& basis) noexcept;

}  // namespace llmux::governance
