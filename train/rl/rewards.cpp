// Rewards from the task verifier or an external command (see rewards.h).
#include "train/rl/rewards.h"

#include <algorithm>

#include "core/error.h"
#include "data/tasks/verdict.h"
#include "train/sampling/task_prompts.h"

namespace ember::train::rl {

RewardFunction::RewardFunction(const data::tasks::Task& task, double format_weight, const std::string& command,
                               double timeout_s)
    : task_(task), format_weight_(format_weight) {
  if (!command.empty()) command_.emplace(command, timeout_s);
}

std::vector<Score> RewardFunction::score(const std::vector<const data::tasks::Problem*>& problems,
                                         const std::vector<std::string>& completions) const {
  if (problems.size() != completions.size()) {
    fail("{} problems but {} completions to score", problems.size(), completions.size());
  }
  std::vector<Score> scores(problems.size());
  for (size_t i = 0; i < problems.size(); ++i) {
    auto verdict = task_.verify(*problems[i], completions[i]);
    scores[i].correct = verdict.correct;
    scores[i].format_score = verdict.format_score;
    scores[i].reward = data::tasks::reward(verdict, format_weight_);
  }
  if (command_) {
    std::vector<RewardRequest> requests(problems.size());
    for (size_t i = 0; i < problems.size(); ++i) {
      requests[i] = {problems[i]->prompt, completions[i], sampling::problem_metadata(*problems[i])};
    }
    auto rewards = command_->score(requests);
    for (size_t i = 0; i < scores.size(); ++i) scores[i].reward = rewards[i];
  }
  return scores;
}

double overlong_penalty(int64_t length, int64_t max_length, int64_t buffer, double factor) {
  const double excess = double(length - (max_length - buffer));
  return factor * std::min(0.0, -excess / double(buffer));
}

}  // namespace ember::train::rl
