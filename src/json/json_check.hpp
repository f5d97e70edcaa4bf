// Checks that text is JSON (RFC 8259: one value with whitespace around it, strings in UTF-8, and
// \u escapes of UTF-16 surrogates only in pairs, as simdjson and Boost.JSON require) without
// building anything and without recursion: a level of nesting costs one bit, so a hostile
// body nested a million levels deep is checked like any other (a recursive parser runs out of
// native stack there). Text may arrive in pieces, such as a streamed tool call's arguments: a
// piece is refused as soon as the text so far cannot be the start of valid JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace llmux::json {

class JsonChecker {
 public:
  static constexpr size_t kUnlimitedDepth = SIZE_MAX;
  enum class Root { any, object };  // `object`: the value must be a JSON object

  explicit JsonChecker(size_t max_depth = kUnlimitedDepth, Root root = Root::any)
      : max_depth_(max_depth), root_(root) {}

  // Starts a new text; keeps the nesting storage (and, without arguments, the limits).
  void reset();
  void reset(size_t max_depth, Root root);
  // The next piece of the text; false once the text cannot be valid (and from then on).
  bool feed(std::string_view piece);
  // True when all the pieces fed make one complete value.
  bool finish();

  bool failed() const noexcept { return failed_; }
  // Nothing but whitespace fed so far.
  bool blank() const noexcept;
  // After a failure: the offset of the first byte that cannot be there (the length of the text
  // when it ended early), and whether it opened a level beyond max_depth.
  size_t error_offset() const noexcept { return error_offset_; }
  bool too_deep() const noexcept { return too_deep_; }

 private:
  enum class Expect : uint8_t { value, value_or_close, key_or_close, key, colon, comma_or_close, end };
  enum class Token : uint8_t { none, string, number, literal };
  enum class Number : uint8_t { minus, zero, integer, dot, fraction, exponent, exponent_sign, exponent_digits };
  // After a \u escape of a high surrogate: the low one's "\", its "u", then its hex digits.
  enum class Surrogate : uint8_t { none, backslash, u, low };

  bool fail(size_t at);
  size_t scan_string(const unsigned char* text, size_t i, size_t size);
  bool string_byte(unsigned char c);
  bool escape_done();
  bool number_byte(unsigned char c);
  bool number_complete() const noexcept;
  bool structural(unsigned char c);
  bool begin_value(unsigned char c);
  bool open(bool object);
  bool close(bool object);
  void value_done() noexcept;

  size_t max_depth_;
  Root root_;
  bool innermost_is_object() const noexcept { return levels_[(depth_ - 1) / 64] >> ((depth_ - 1) % 64) & 1; }

  std::vector<uint64_t> levels_;  // bit i: level i+1 is an object (1) or an array (0)
  size_t depth_ = 0;
  size_t offset_ = 0;         // bytes fed before the current piece
  size_t error_offset_ = 0;
  Expect expect_ = Expect::value;
  Token token_ = Token::none;
  Number number_ = Number::minus;
  const char* literal_rest_ = nullptr;  // what a literal still needs ("ue" after "tr")
  bool in_key_ = false;
  bool after_backslash_ = false;
  uint8_t hex_digits_left_ = 0;  // of a \u escape
  uint16_t code_unit_ = 0;       // the \u escape's value so far
  Surrogate surrogate_ = Surrogate::none;
  uint8_t utf8_left_ = 0;        // continuation bytes a UTF-8 sequence still needs
  uint8_t utf8_low_ = 0x80, utf8_high_ = 0xBF;  // the range of the next one
  bool failed_ = false;
  bool too_deep_ = false;
};

struct JsonSyntaxError {
  size_t offset = 0;  // as JsonChecker::error_offset
  bool too_deep = false;
};

// Checks a whole text; nullopt when it is valid JSON nested at most `max_depth` levels.
std::optional<JsonSyntaxError> check_json(std::string_view text, size_t max_depth = JsonChecker::kUnlimitedDepth);

}  // namespace llmux::json
