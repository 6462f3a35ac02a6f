// Task "arithmetic": multi-digit addition, subtraction and multiplication with the column
// method written out (carries, borrows, partial products), so that a small model can learn the
// procedure rather than memorise sums.
//
// Difficulty d (1..5): addition and subtraction operands have d or d+1 digits (default d = 2:
// 2-3 digit numbers); multiplication multiplies a d..d+1 digit number by 2..9 for d <= 2 and
// by a (d-1)-digit number above, shown as partial products. Subtraction keeps the
// larger operand first, so answers are never negative.
//
// Prompt "What is 347 + 85?\n"; meta {"a": "347", "op": "+", "b": "85"}; answer "432".
// Canonical key: "a op b" with the operands of + and * in increasing order.
#pragma once

#include <utility>

#include "data/tasks/task.h"

namespace ember::data::tasks {

class ArithmeticTask final : public Task {
 public:
  std::string_view name() const override { return "arithmetic"; }
  std::string_view description() const override {
    return "multi-digit + - * with worked carries, borrows and partial products";
  }
  int default_difficulty() const override { return 2; }
  Example draw(TaskRng& rng, int difficulty) const override;
  std::string canonical_key(const Problem& problem) const override;
  Verdict verify(const Problem& problem, std::string_view completion) const override;
  /// The column method with every carry and borrow dropped (each column written mod 10, no
  /// carry into the next) and the answer it gives; nullopt for long multiplication, whose partial
  /// products have no columns.
  std::optional<Example> careless(const Example& example) const override;
};

/// The careless column steps and their answer for `a op b` (op one of + - *, b < 10 for *).
std::pair<std::string, int64_t> careless_arithmetic_steps(int64_t a, char op, int64_t b);

/// The worked column steps for `a op b` (op one of + - *), one per line, without tags.
std::string arithmetic_steps(int64_t a, char op, int64_t b);

}  // namespace ember::data::tasks
