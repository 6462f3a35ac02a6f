// Single-task and mixed data sets (see dataset.h).
#include "data/tasks/dataset.h"

#include "core/error.h"
#include "data/tasks/random.h"
#include "data/tasks/registry.h"

namespace ember::data::tasks {

std::vector<Example> generate_dataset(const DatasetSpec& spec) {
  if (spec.count == 0 || spec.count > kMaxDatasetCount)
    fail_usage("the number of examples to generate must be between 1 and {}, got {}", kMaxDatasetCount, spec.count);
  check_eval_percent(spec.eval_percent);
  if (spec.answer_only_percent < 0 || spec.answer_only_percent > 100)
    fail_usage("the answer-only percent must be between 0 and 100, got {}", spec.answer_only_percent);
  if (spec.careless_percent < 0 || spec.careless_percent > 100)
    fail_usage("the careless percent must be between 0 and 100, got {}", spec.careless_percent);
  std::vector<const Task*> chosen =
      spec.task == kAllTasks ? all_tasks() : std::vector<const Task*>{&find_task(spec.task)};
  GenerateOptions options{.split = spec.split, .difficulty = spec.difficulty, .eval_percent = spec.eval_percent};
  for (const Task* task : chosen) task->resolve_difficulty(options);  // reject bad input before any work

  std::vector<Example> examples;
  examples.reserve(spec.count);
  for (size_t i = 0; i < spec.count; ++i) {
    const Task& task = *chosen[i % chosen.size()];
    examples.push_back(task.generate(spec.seed, i / chosen.size(), options));
    if (combine_seeds({spec.seed, i, fnv1a64("careless")}) % 100 < static_cast<uint64_t>(spec.careless_percent))
      if (std::optional<Example> slipped = task.careless(examples.back())) examples.back() = std::move(*slipped);
    if (combine_seeds({spec.seed, i, fnv1a64("answer_only")}) % 100 < static_cast<uint64_t>(spec.answer_only_percent))
      examples.back() = answer_only(examples.back());
  }
  return examples;
}

}  // namespace ember::data::tasks
