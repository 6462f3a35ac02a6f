// A strict evaluator for the arithmetic expressions that Countdown answers are made of. It is the
// verifier's line of defence against exploits, so it accepts only:
//
//   expression := term (('+' | '-') term)*
//   term       := factor (('*' | '/') factor)*
//   factor     := NUMBER | '(' expression ')'
//
// NUMBER is a decimal integer without leading zeros ("07" is rejected: it would smuggle a 7);
// '×', '÷' and '−' (U+2212) are read as '*', '/' and '-'; spaces and tabs are ignored. There is no unary minus or
// plus, no decimal point, no exponent, no variables or function calls: any other character is an
// error. Evaluation is exact integer arithmetic: division by zero, a division with a remainder and
// 64-bit overflow are errors. Length (256 bytes) and nesting (32 levels) are capped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ember::data::tasks {

struct Evaluation {
  int64_t value = 0;
  std::vector<int64_t> numbers;  ///< every number literal, in reading order
  std::string error;             ///< empty when the expression is valid
  bool ok() const { return error.empty(); }
};

Evaluation evaluate_expression(std::string_view text);

}  // namespace ember::data::tasks
