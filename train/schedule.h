// Learning-rate schedules. With W warmup steps, S total steps, peak lr P and floor m*P:
//   warmup   (s < W):  P * (s + 1) / W
//   constant         : P
//   cosine           : m*P + (P - m*P) * (1 + cos(pi * t)) / 2,   t = (s - W) / (S - W)
//   wsd              : P until the last D = decay_fraction * S steps, then linear down to m*P
// `s` is the 0-based index of the optimizer step about to run.
#pragma once

#include <cstdint>
#include <string>

namespace ember::train {

struct ScheduleOptions {
  std::string kind = "cosine";  ///< constant | cosine | wsd
  double peak_lr = 3e-4;
  double min_lr_ratio = 0.1;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double decay_fraction = 0.2;  ///< wsd only
};

/// The learning rate for 0-based optimizer step `step`.
double learning_rate(const ScheduleOptions& options, int64_t step);

}  // namespace ember::train
