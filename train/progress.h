// Throughput and MFU accounting plus the console progress line of every recipe:
//   step 120/600 | loss 2.3141 | lr 2.70e-03 | 41.2k tok/s | MFU 31.5% | ETA 1m52s
// The fields between the step and the rates are the recipe's, picked from its named scalars.
//
// Rates are measured over the steps' own wall time since the previous mark (each step's seconds are
// added with its tokens and FLOPs), so evaluations, logging and checkpoint saves between steps do
// not count:  tokens_per_s = sum tokens / sum step seconds,
//             mfu = (sum FLOPs / sum step seconds) / peak FLOP/s of the job.
// The ETA uses the whole wall time per step (evaluations and saves included).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "train/scalars.h"

namespace ember::train {

/// One field of the console line: `label` then the scalar `name` printed with `format`
/// (an fmt spec such as "{:.4f}"); a scalar absent from the line's scalars is left out.
struct ConsoleField {
  std::string label;
  std::string name;
  std::string format = "{:.4f}";
};

class Progress {
 public:
  /// `peak_flops`: FLOP/s of the whole job (every rank's peak), the MFU denominator.
  Progress(int64_t total_steps, double peak_flops);

  /// Starts timing from `step` (the last step done before this process runs any).
  void start(int64_t step);
  /// Adds one step's work: the tokens it trained on, the FLOPs it did, the seconds it took.
  void add_step(int64_t tokens, double flops, double seconds);

  struct Rates {
    double tokens_per_s = 0;
    double mfu = 0;  ///< fraction of the peak, 0..1
  };
  /// Rates over the steps added since the previous mark; starts a new interval.
  Rates mark();

  /// The console line for step `step`: the recipe's `fields` from `scalars`, then the rates and ETA.
  std::string line(int64_t step, const Scalars& scalars, const std::vector<ConsoleField>& fields,
                   const Rates& rates) const;

  /// Wall time since start().
  double elapsed_s() const;

 private:
  using Clock = std::chrono::steady_clock;
  int64_t total_steps_;
  double peak_flops_;
  Clock::time_point started_;
  int64_t start_step_ = 0;
  int64_t tokens_ = 0;
  double flops_ = 0, seconds_ = 0;
};

/// "1h02m", "3m05s", "12s".
std::string format_duration(double seconds);

}  // namespace ember::train
