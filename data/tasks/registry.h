// The registered reasoning tasks, looked up by name by `ember data generate`, RL rewards and eval.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "data/tasks/task.h"

namespace ember::data::tasks {

/// Every registered task, in a fixed order: arithmetic, countdown, word_problems.
const std::vector<const Task*>& all_tasks();

/// The registered names, in the order of all_tasks().
std::vector<std::string> task_names();

/// The task called `name`; throws ember::UsageError listing the known names (with a
/// "did you mean" hint for near misses) otherwise.
const Task& find_task(std::string_view name);

}  // namespace ember::data::tasks
