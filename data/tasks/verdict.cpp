// The reward derived from a verdict (see verdict.h).
#include "data/tasks/verdict.h"

#include <cmath>

#include "core/error.h"

namespace ember::data::tasks {

double reward(const Verdict& verdict, double format_weight) {
  if (!std::isfinite(format_weight) || format_weight < 0)
    fail_usage("format reward weight must be a finite number >= 0, got {}", format_weight);
  return (verdict.correct ? 1.0 : 0.0) + format_weight * verdict.format_score;
}

}  // namespace ember::data::tasks
