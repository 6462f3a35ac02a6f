// Strict integer expression evaluation for Countdown answers (see expression.h).
#include "data/tasks/expression.h"

#include <cctype>

#include <fmt/format.h>

namespace ember::data::tasks {
namespace {

constexpr size_t kMaxLength = 256;
constexpr int kMaxDepth = 32;
constexpr int64_t kMaxLiteral = 1'000'000'000;

/// Recursive-descent parser that evaluates as it reads; the first error stops everything.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Evaluation run() {
    Evaluation result;
    numbers_ = &result.numbers;
    if (text_.size() > kMaxLength) {
      result.error = fmt::format("expression longer than {} characters", kMaxLength);
      return result;
    }
    skip_spaces();
    if (at_end()) {
      result.error = "empty expression";
      return result;
    }
    int64_t value = expression(0);
    if (error_.empty() && !at_end()) {
      size_t length = 0;
      if (text_[pos_] == '(' || text_[pos_] == ')' || std::isdigit(static_cast<unsigned char>(text_[pos_])) ||
          peek_operator(&length) != 0)
        fail_at(fmt::format("unexpected '{}'", text_[pos_]));
      else
        fail_disallowed();
    }
    result.value = value;
    result.error = error_;
    return result;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }

  void skip_spaces() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }

  void fail_at(const std::string& message) {
    if (error_.empty()) error_ = fmt::format("{} at position {}", message, pos_);
  }

  /// Reports the character at the cursor as outside the grammar.
  void fail_disallowed() {
    unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (std::isprint(c))
      fail_at(fmt::format("character '{}' is not allowed", static_cast<char>(c)));
    else
      fail_at(fmt::format("byte 0x{:02x} is not allowed", c));
  }

  /// The operator at the cursor ('+', '-', '*', '/', with '×', '÷' and '−' mapped), or 0.
  char peek_operator(size_t* length) const {
    if (at_end()) return 0;
    char c = text_[pos_];
    if (c == '+' || c == '-' || c == '*' || c == '/') {
      *length = 1;
      return c;
    }
    std::string_view rest = text_.substr(pos_);
    if (rest.starts_with("\xC3\x97")) {
      *length = 2;
      return '*';
    }
    if (rest.starts_with("\xC3\xB7")) {
      *length = 2;
      return '/';
    }
    if (rest.starts_with("\xE2\x88\x92")) {  // U+2212 minus sign
      *length = 3;
      return '-';
    }
    return 0;
  }

  int64_t expression(int depth) {
    int64_t value = term(depth);
    while (error_.empty()) {
      size_t length = 0;
      char op = peek_operator(&length);
      if (op != '+' && op != '-') break;
      pos_ += length;
      skip_spaces();
      int64_t right = term(depth);
      if (!error_.empty()) break;
      int64_t combined = 0;
      bool overflow = op == '+' ? __builtin_add_overflow(value, right, &combined)
                                : __builtin_sub_overflow(value, right, &combined);
      if (overflow) fail_at("integer overflow");
      value = combined;
    }
    return value;
  }

  int64_t term(int depth) {
    int64_t value = factor(depth);
    while (error_.empty()) {
      size_t length = 0;
      char op = peek_operator(&length);
      if (op != '*' && op != '/') break;
      pos_ += length;
      skip_spaces();
      int64_t right = factor(depth);
      if (!error_.empty()) break;
      if (op == '*') {
        if (__builtin_mul_overflow(value, right, &value)) fail_at("integer overflow");
      } else if (right == 0) {
        fail_at("division by zero");
      } else if (value % right != 0) {
        fail_at(fmt::format("division {}/{} is not exact", value, right));
      } else {
        value /= right;
      }
    }
    return value;
  }

  int64_t factor(int depth) {
    if (at_end()) {
      fail_at("expression ends where a number or '(' is expected");
      return 0;
    }
    char c = text_[pos_];
    if (c == '(') {
      if (depth >= kMaxDepth) {
        fail_at(fmt::format("parentheses nested deeper than {}", kMaxDepth));
        return 0;
      }
      ++pos_;
      skip_spaces();
      int64_t value = expression(depth + 1);
      if (!error_.empty()) return 0;
      if (at_end() || text_[pos_] != ')') {
        fail_at("missing ')'");
        return 0;
      }
      ++pos_;
      skip_spaces();
      return value;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return number();
    size_t length = 0;
    if (peek_operator(&length) != 0)
      fail_at(fmt::format("operator '{}' where a number or '(' is expected", text_.substr(pos_, length)));
    else
      fail_disallowed();
    return 0;
  }

  int64_t number() {
    size_t start = pos_;
    int64_t value = 0;
    while (!at_end() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      value = value * 10 + (text_[pos_] - '0');
      ++pos_;
      if (value > kMaxLiteral) {
        fail_at("number too large");
        return 0;
      }
    }
    if (pos_ - start > 1 && text_[start] == '0') {
      fail_at(fmt::format("number '{}' has a leading zero", text_.substr(start, pos_ - start)));
      return 0;
    }
    numbers_->push_back(value);
    skip_spaces();
    return value;
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
  std::vector<int64_t>* numbers_ = nullptr;
};

}  // namespace

Evaluation evaluate_expression(std::string_view text) { return Parser(text).run(); }

}  // namespace ember::data::tasks
