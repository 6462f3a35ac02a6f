// Throughput and MFU accounting plus the console progress line every recipe prints:
//   step 120/600 | loss 2.3141 | lr 2.7e-03 | 41.2k tok/s | MFU 31.5% | ETA 1m52s
// tokens/s is measured between two log points (wall clock); MFU = achieved model FLOP/s / peak.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ember::train {

class Progress {
 public:
  /// `flops_per_token`: training FLOPs per token of the model; `peak_flops`: per process.
  Progress(int64_t total_steps, double flops_per_token, double peak_flops);

  /// Starts timing from `step` (the first step this process runs).
  void start(int64_t step);
  /// Adds the tokens processed by one step.
  void add_tokens(int64_t tokens) { tokens_since_mark_ += tokens; }

  struct Rates {
    double tokens_per_s = 0;
    double mfu = 0;  ///< fraction of the peak, 0..1
  };
  /// Rates since the previous mark, then marks `step` as the new reference point.
  Rates mark(int64_t step);

  /// The console line for a finished step.
  std::string line(int64_t step, double loss, double lr, const Rates& rates) const;

  double elapsed_s() const;

 private:
  using Clock = std::chrono::steady_clock;
  int64_t total_steps_;
  double flops_per_token_, peak_flops_;
  Clock::time_point started_, last_mark_;
  int64_t start_step_ = 0, last_mark_step_ = 0, tokens_since_mark_ = 0;
};

/// "1h02m", "3m05s", "12s".
std::string format_duration(double seconds);

}  // namespace ember::train
