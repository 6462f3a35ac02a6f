// Task "word_problems": short templated story problems (GSM-style, after GSM-Symbolic) whose
// answer is one integer, with the arithmetic written out step by step.
//
// Ten templates: four one-step (gain, lose, groups, share), four two-step (gain_lose,
// buy_groups, change, share_rest) and two three-step (two_packs, trip). Difficulty d (1..5):
// d = 1 uses the one-step templates, d = 2 (default) adds the two-step ones, d >= 3 uses all;
// amounts grow with d (up to 10, 20, 50, 100, 500) and group counts up to 9 (d <= 2) or 12.
// Every intermediate value and the answer are positive integers.
//
// Prompt "Mia has 12 apples and buys 3 bags of 5. How many apples does Mia have now?\n";
// meta {"template": "buy_groups", "values": "12 3 5", "unit": "apples"}; answer "27". Names and
// items are surface details: the canonical key is the template and its values.
//
// Verifier: one integer in the answer block (see completion.h), optionally followed by the unit
// ("27 apples").
#pragma once

#include "data/tasks/task.h"

namespace ember::data::tasks {

class WordProblemsTask final : public Task {
 public:
  std::string_view name() const override { return "word_problems"; }
  std::string_view description() const override {
    return "templated one- to three-step story problems with integer answers";
  }
  int default_difficulty() const override { return 2; }
  Example draw(TaskRng& rng, int difficulty) const override;
  std::string canonical_key(const Problem& problem) const override;
  Verdict verify(const Problem& problem, std::string_view completion) const override;
};

}  // namespace ember::data::tasks
