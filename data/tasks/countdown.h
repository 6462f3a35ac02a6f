// Task "countdown": reach a target with the given numbers, each used exactly once, combined with
// + - * / and parentheses (the TinyZero / Countdown-Tasks game).
//
// Difficulty d (1..5): d+1 numbers (default d = 2: three numbers), drawn from 1..{10, 20, 25, 50,
// 100}[d-1]. The generator combines the numbers in a random order and tree, keeping every
// intermediate result a positive integer and the target at most 999; the worked solution lists
// the steps ("4+6=10", "10*3=30") and the answer is the expression "(4+6)*3".
//
// Prompt "Make 30 from 3 4 6 using + - * / and each number exactly once.\n";
// meta {"numbers": "3 4 6", "target": "30"}. Canonical key: the sorted numbers and the target.
//
// Verifier: the answer block holds an expression (see expression.h for the exact grammar),
// optionally followed by "= N"; it must use exactly the multiset of given numbers, evaluate in
// exact integer arithmetic (no division by zero, no division with a remainder) to the target, and
// a stated "= N" must equal its value. Many expressions reach a target; any valid one is correct.
#pragma once

#include "data/tasks/task.h"

namespace ember::data::tasks {

class CountdownTask final : public Task {
 public:
  std::string_view name() const override { return "countdown"; }
  std::string_view description() const override {
    return "reach a target with the given numbers, each exactly once, using + - * /";
  }
  int default_difficulty() const override { return 2; }
  Example draw(TaskRng& rng, int difficulty) const override;
  std::string canonical_key(const Problem& problem) const override;
  Verdict verify(const Problem& problem, std::string_view completion) const override;
};

}  // namespace ember::data::tasks
