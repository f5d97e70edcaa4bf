#include "json/json_check.hpp"

#include <cstring>

namespace llmux::json {

namespace {

bool is_whitespace(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
int hex_value(unsigned char c) {
  if (is_digit(c)) return c - '0';
  c |= 0x20;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Eight bytes at a time: true when none of them ends a plain run of string contents (a quote, a
// backslash, a control character or a byte of a UTF-8 sequence).
bool plain_string_bytes(const unsigned char* at) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  uint64_t word;
  std::memcpy(&word, at, sizeof word);
  auto has_zero_byte = [](uint64_t w) { return (w - kOnes) & ~w & kHigh; };
  uint64_t special = (word & kHigh) | ((word - 0x20 * kOnes) & ~word & kHigh) | has_zero_byte(word ^ ('"' * kOnes)) |
                     has_zero_byte(word ^ ('\\' * kOnes));
  return special == 0;
}

}  // namespace

void JsonChecker::reset() {
  depth_ = 0;
  offset_ = error_offset_ = 0;
  expect_ = Expect::value;
  token_ = Token::none;
  in_key_ = after_backslash_ = false;
  hex_digits_left_ = utf8_left_ = 0;
  surrogate_ = Surrogate::none;
  failed_ = too_deep_ = false;
}

void JsonChecker::reset(size_t max_depth, Root root) {
  max_depth_ = max_depth;
  root_ = root;
  reset();
}

bool JsonChecker::blank() const noexcept {
  return !failed_ && expect_ == Expect::value && token_ == Token::none && depth_ == 0;
}

bool JsonChecker::fail(size_t at) {
  failed_ = true;
  error_offset_ = offset_ + at;
  return false;
}

bool JsonChecker::feed(std::string_view piece) {
  if (failed_) return false;
  const auto* text = reinterpret_cast<const unsigned char*>(piece.data());
  const size_t size = piece.size();
  size_t i = 0;
  while (i < size) {
    if (token_ == Token::string) {
      i = scan_string(text, i, size);
      if (failed_) return false;
      continue;
    }
    unsigned char c = text[i];
    if (token_ == Token::literal) {
      if (c != static_cast<unsigned char>(*literal_rest_)) return fail(i);
      if (*++literal_rest_ == '\0') {
        token_ = Token::none;
        value_done();
      }
      ++i;
      continue;
    }
    if (token_ == Token::number) {
      if (number_byte(c)) {
        ++i;
        continue;
      }
      if (!number_complete()) return fail(i);
      token_ = Token::none;
      value_done();  // and `c` is read as what follows the number
    }
    if (is_whitespace(c)) {
      while (++i < size && is_whitespace(text[i])) {
      }
      continue;
    }
    if (!structural(c)) return fail(i);
    ++i;
  }
  offset_ += size;
  return true;
}

bool JsonChecker::finish() {
  if (failed_) return false;
  if (token_ == Token::number && number_complete()) {
    token_ = Token::none;
    value_done();
  }
  if (token_ != Token::none || expect_ != Expect::end) return fail(0);
  return true;
}

// Plain string bytes are skipped in a tight loop; escapes, UTF-8 sequences and the closing quote
// go through string_byte one at a time.
size_t JsonChecker::scan_string(const unsigned char* text, size_t i, size_t size) {
  while (i < size) {
    if (!after_backslash_ && hex_digits_left_ == 0 && utf8_left_ == 0 && surrogate_ == Surrogate::none) {
      while (size - i >= 8 && plain_string_bytes(text + i)) i += 8;
      while (i < size && text[i] >= 0x20 && text[i] < 0x80 && text[i] != '"' && text[i] != '\\') ++i;
    }
    if (i == size) break;
    if (!string_byte(text[i])) {
      fail(i);
      return i;
    }
    ++i;
    if (token_ != Token::string) break;
  }
  return i;
}

bool JsonChecker::string_byte(unsigned char c) {
  if (utf8_left_) {
    if (c < utf8_low_ || c > utf8_high_) return false;
    utf8_low_ = 0x80;
    utf8_high_ = 0xBF;
    --utf8_left_;
    return true;
  }
  if (hex_digits_left_) {
    int value = hex_value(c);
    if (value < 0) return false;
    code_unit_ = static_cast<uint16_t>(code_unit_ << 4 | value);
    return --hex_digits_left_ > 0 || escape_done();
  }
  if (surrogate_ == Surrogate::backslash || surrogate_ == Surrogate::u) {
    if (c != (surrogate_ == Surrogate::backslash ? '\\' : 'u')) return false;
    if (surrogate_ == Surrogate::u) {
      hex_digits_left_ = 4;
      code_unit_ = 0;
    }
    surrogate_ = surrogate_ == Surrogate::backslash ? Surrogate::u : Surrogate::low;
    return true;
  }
  if (after_backslash_) {
    after_backslash_ = false;
    switch (c) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': return true;
      case 'u':
        hex_digits_left_ = 4;
        code_unit_ = 0;
        return true;
      default: return false;
    }
  }
  if (c == '"') {
    token_ = Token::none;
    if (in_key_) expect_ = Expect::colon;
    else value_done();
    return true;
  }
  if (c == '\\') {
    after_backslash_ = true;
    return true;
  }
  if (c < 0x20) return false;  // control characters must be escaped
  if (c < 0x80) return true;
  // The first byte of a UTF-8 sequence fixes its length and the range of the next byte, which
  // rules out overlong forms, surrogates and code points past U+10FFFF.
  utf8_low_ = 0x80;
  utf8_high_ = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    utf8_left_ = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    utf8_left_ = 2;
    if (c == 0xE0) utf8_low_ = 0xA0;
    if (c == 0xED) utf8_high_ = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    utf8_left_ = 3;
    if (c == 0xF0) utf8_low_ = 0x90;
    if (c == 0xF4) utf8_high_ = 0x8F;
  } else {
    return false;
  }
  return true;
}

// A high surrogate must be followed by a \u escape of a low one, and a low one must follow a high.
bool JsonChecker::escape_done() {
  bool high = code_unit_ >= 0xD800 && code_unit_ <= 0xDBFF;
  bool low = code_unit_ >= 0xDC00 && code_unit_ <= 0xDFFF;
  if (surrogate_ == Surrogate::low) {
    surrogate_ = Surrogate::none;
    return low;
  }
  if (high) surrogate_ = Surrogate::backslash;
  return !low;
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool JsonChecker::number_byte(unsigned char c) {
  bool digit = is_digit(c);
  bool exponent = c == 'e' || c == 'E';
  switch (number_) {
    case Number::minus:
      if (!digit) return false;
      number_ = c == '0' ? Number::zero : Number::integer;
      return true;
    case Number::zero:
    case Number::integer:
      if (digit && number_ == Number::integer) return true;
      if (c == '.') number_ = Number::dot;
      else if (exponent) number_ = Number::exponent;
      else return false;
      return true;
    case Number::dot:
    case Number::fraction:
      if (digit) number_ = Number::fraction;
      else if (exponent && number_ == Number::fraction) number_ = Number::exponent;
      else return false;
      return true;
    case Number::exponent:
      if (c == '+' || c == '-') number_ = Number::exponent_sign;
      else if (digit) number_ = Number::exponent_digits;
      else return false;
      return true;
    case Number::exponent_sign:
    case Number::exponent_digits:
      if (!digit) return false;
      number_ = Number::exponent_digits;
      return true;
  }
  return false;
}

bool JsonChecker::number_complete() const noexcept {
  return number_ == Number::zero || number_ == Number::integer || number_ == Number::fraction ||
         number_ == Number::exponent_digits;
}

bool JsonChecker::structural(unsigned char c) {
  switch (expect_) {
    case Expect::value_or_close:
      if (c == ']') return close(false);
      return begin_value(c);
    case Expect::value:
      return begin_value(c);
    case Expect::key_or_close:
      if (c == '}') return close(true);
      [[fallthrough]];
    case Expect::key:
      if (c != '"') return false;
      token_ = Token::string;
      in_key_ = true;
      return true;
    case Expect::colon:
      if (c != ':') return false;
      expect_ = Expect::value;
      return true;
    case Expect::comma_or_close:
      if (c == ',') {
        expect_ = innermost_is_object() ? Expect::key : Expect::value;
        return true;
      }
      if (c == '}' || c == ']') return close(c == '}');
      return false;
    case Expect::end:
      return false;
  }
  return false;
}

bool JsonChecker::begin_value(unsigned char c) {
  if (root_ == Root::object && depth_ == 0 && c != '{') return false;
  switch (c) {
    case '{': return open(true);
    case '[': return open(false);
    case '"':
      token_ = Token::string;
      in_key_ = false;
      return true;
    case 't': literal_rest_ = "rue"; break;
    case 'f': literal_rest_ = "alse"; break;
    case 'n': literal_rest_ = "ull"; break;
    default:
      if (c != '-' && !is_digit(c)) return false;
      token_ = Token::number;
      number_ = c == '-' ? Number::minus : c == '0' ? Number::zero : Number::integer;
      return true;
  }
  token_ = Token::literal;
  return true;
}

bool JsonChecker::open(bool object) {
  if (depth_ >= max_depth_) {
    too_deep_ = true;
    return false;
  }
  size_t word = depth_ / 64;
  uint64_t bit = uint64_t{1} << (depth_ % 64);
  if (word == levels_.size()) levels_.push_back(0);
  levels_[word] = object ? levels_[word] | bit : levels_[word] & ~bit;
  ++depth_;
  expect_ = object ? Expect::key_or_close : Expect::value_or_close;
  return true;
}

bool JsonChecker::close(bool object) {
  if (depth_ == 0 || innermost_is_object() != object) return false;
  --depth_;
  value_done();
  return true;
}

void JsonChecker::value_done() noexcept {
  expect_ = depth_ == 0 ? Expect::end : Expect::comma_or_close;
}

std::optional<JsonSyntaxError> check_json(std::string_view text, size_t max_depth) {
  // One per thread: its nesting storage is kept from one text to the next.
  thread_local JsonChecker checker;
  checker.reset(max_depth, JsonChecker::Root::any);
  if (checker.feed(text) && checker.finish()) return std::nullopt;
  return JsonSyntaxError{checker.error_offset(), checker.too_deep()};
}

}  // namespace llmux::json
