// The task registry (see registry.h). Tasks are listed here explicitly rather than registering
// themselves from static initialisers, which a static library link could silently drop.
#include "data/tasks/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/strings.h"
#include "data/tasks/arithmetic.h"
#include "data/tasks/countdown.h"
#include "data/tasks/word_problems.h"

namespace ember::data::tasks {

const std::vector<const Task*>& all_tasks() {
  static const ArithmeticTask arithmetic;
  static const CountdownTask countdown;
  static const WordProblemsTask word_problems;
  static const std::vector<const Task*> all = {&arithmetic, &countdown, &word_problems};
  return all;
}

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const Task* task : all_tasks()) names.emplace_back(task->name());
  return names;
}

const Task& find_task(std::string_view name) {
  std::string closest;
  size_t closest_distance = 3;  // hint only for near misses
  for (const Task* task : all_tasks()) {
    if (task->name() == name) return *task;
    size_t distance = edit_distance(task->name(), name);
    if (distance < closest_distance) {
      closest_distance = distance;
      closest = task->name();
    }
  }
  std::string hint = closest.empty() ? "" : fmt::format("; did you mean '{}'?", closest);
  fail_usage("unknown task '{}' (known tasks: {}){}", name, fmt::join(task_names(), ", "), hint);
}

}  // namespace ember::data::tasks
