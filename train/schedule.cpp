// Learning-rate schedules (see schedule.h for the formulas).
#include "train/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace ember::train {

double learning_rate(const ScheduleOptions& o, int64_t step) {
  const double floor = o.peak_lr * o.min_lr_ratio;
  if (step < o.warmup_steps) return o.peak_lr * double(step + 1) / double(o.warmup_steps);
  if (o.kind == "constant") return o.peak_lr;
  if (o.kind == "cosine") {
    int64_t span = std::max<int64_t>(1, o.total_steps - o.warmup_steps);
    double t = std::clamp(double(step - o.warmup_steps) / double(span), 0.0, 1.0);
    return floor + (o.peak_lr - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
  }
  if (o.kind == "wsd") {
    int64_t decay_steps = std::max<int64_t>(1, int64_t(std::llround(o.decay_fraction * double(o.total_steps))));
    int64_t decay_start = std::max(o.warmup_steps, o.total_steps - decay_steps);
    if (step < decay_start) return o.peak_lr;
    double t = std::clamp(double(step - decay_start + 1) / double(o.total_steps - decay_start), 0.0, 1.0);
    return o.peak_lr + (floor - o.peak_lr) * t;
  }
  fail_usage("unknown learning-rate schedule '{}'", o.kind);
}

}  // namespace ember::train
