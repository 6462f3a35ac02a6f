// What a task verifier says about one completion, and the scalar reward RL derives from it.
// Correctness and format are separate: a completion can be well formatted and wrong, and a
// correct answer earns the same correctness credit whatever else surrounds it.
#pragma once

#include <string>

namespace ember::data::tasks {

struct Verdict {
  bool correct = false;
  /// Partial credit for the tag structure, in [0, 1] (see completion.h for the four quarters).
  double format_score = 0.0;
  /// Why the completion is wrong ("multiple <answer> tags", "wrong answer: 12, expected 13"), or
  /// "correct".
  std::string reason;
};

/// reward = (correct ? 1 : 0) + format_weight * format_score, so it lies in [0, 1 + format_weight].
/// Throws ember::UsageError when format_weight is negative or not finite.
double reward(const Verdict& verdict, double format_weight);

}  // namespace ember::data::tasks
