// Rewards of RL completions: the task's verifier (correctness plus an optional format bonus) or an
// external reward command, and DAPO's soft overlong penalty.
//
//   built-in:  reward = [correct] + format_weight * format_score        (data/tasks/verdict.h)
//   external:  reward = what the command answers (reward_command.h)
//   soft overlong penalty for a response of `length` tokens, limit L, buffer b, factor f:
//              penalty = f * min(0, -(length - (L - b)) / b)             in [-f, 0]
// Accuracy is always the verifier's verdict, whichever reward drives training, so runs with an
// external reward still report how often the answer is right.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/tasks/problem.h"
#include "data/tasks/task.h"
#include "train/rl/reward_command.h"

namespace ember::train::rl {

struct Score {
  double reward = 0;
  bool correct = false;
  double format_score = 0;
};

class RewardFunction {
 public:
  /// The built-in verifier of `task`; with a non-empty `command`, rewards come from it instead.
  RewardFunction(const data::tasks::Task& task, double format_weight, const std::string& command, double timeout_s);

  /// Scores completions[i] of problems[i] (same length).
  std::vector<Score> score(const std::vector<const data::tasks::Problem*>& problems,
                           const std::vector<std::string>& completions) const;

 private:
  const data::tasks::Task& task_;
  double format_weight_;
  std::optional<RewardCommand> command_;
};

/// The soft overlong penalty above (0 for lengths up to L - b).
double overlong_penalty(int64_t length, int64_t max_length, int64_t buffer, double factor);

}  // namespace ember::train::rl
