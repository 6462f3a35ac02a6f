// Split-aware, reproducible generation shared by every task (see task.h).
#include "data/tasks/task.h"

#include "core/error.h"

namespace ember::data::tasks {
namespace {

/// Draws per example before giving up; with eval_percent >= 1 a miss this long is
/// astronomically unlikely unless the problem space at this difficulty is tiny.
constexpr uint64_t kMaxAttempts = 10000;

}  // namespace

Split Task::split_of(const Problem& problem, int eval_percent) const {
  return split_of_hash(problem_hash(name(), canonical_key(problem)), eval_percent);
}

int Task::resolve_difficulty(const GenerateOptions& options) const {
  int difficulty = options.difficulty.value_or(default_difficulty());
  if (difficulty < kMinDifficulty || difficulty > kMaxDifficulty)
    fail_usage("difficulty for task '{}' must be between {} and {}, got {}", name(), kMinDifficulty,
               kMaxDifficulty, difficulty);
  return difficulty;
}

Example Task::generate(uint64_t seed, uint64_t index, const GenerateOptions& options) const {
  int difficulty = resolve_difficulty(options);
  check_eval_percent(options.eval_percent);
  for (uint64_t attempt = 0; attempt < kMaxAttempts; ++attempt) {
    TaskRng rng(combine_seeds({seed, fnv1a64(name()), static_cast<uint64_t>(difficulty), index, attempt}));
    Example example = draw(rng, difficulty);
    if (split_of(example.problem, options.eval_percent) == options.split) return example;
  }
  fail("task '{}' found no {} problem at difficulty {} in {} draws", name(), split_name(options.split),
       difficulty, kMaxAttempts);
}

}  // namespace ember::data::tasks
