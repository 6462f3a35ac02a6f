// Whole data sets of reasoning examples: one task, or all of them mixed for the pretraining
// corpus that the nano pipeline tokenizes (`ember data generate --task all`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/tasks/problem.h"
#include "data/tasks/split.h"

namespace ember::data::tasks {

/// The task name that selects every registered task.
inline constexpr const char* kAllTasks = "all";

/// The most examples one call generates (they are held in memory).
inline constexpr size_t kMaxDatasetCount = 100'000'000;

struct DatasetSpec {
  std::string task = kAllTasks;   ///< a registered task name, or "all"
  size_t count = 0;               ///< examples to generate
  uint64_t seed = 0;
  Split split = Split::train;
  std::optional<int> difficulty = std::nullopt;  ///< each task's default when unset
  int eval_percent = kDefaultEvalPercent;
  /// Share (0..100) of examples written answer-only: the think block is left empty, the answer
  /// kept. Web text mixes bare answers with worked solutions; a corpus that does the same gives a
  /// model that can reason but does not by default, which is what reasoning RL has to fix.
  int answer_only_percent = 0;
  /// Share (0..100) of examples written carelessly where the task has a careless form (Task::
  /// careless: arithmetic drops its carries and borrows), answer included: flawed demonstrations.
  /// A model pretrained on a majority of them repeats the slip; reasoning RL, rewarded by the
  /// verifier, has to unlearn it.
  int careless_percent = 0;
};

/// Examples 0..count-1 of the stream. For one task, example i is task.generate(seed, i). For
/// "all", tasks take turns in registry order, and the k-th example of a task is that task's
/// generate(seed, k): the mixed corpus holds exactly the first examples of the per-task streams.
/// Whether example i is answer-only depends on (seed, i) alone, so the problems are the same at
/// every answer_only_percent; likewise for careless_percent. Throws ember::UsageError for an unknown task, a count outside
/// [1, kMaxDatasetCount], or a bad difficulty / eval / answer-only / careless percent.
std::vector<Example> generate_dataset(const DatasetSpec& spec);

}  // namespace ember::data::tasks
