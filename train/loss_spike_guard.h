// Loss-spike guard: a step whose loss is far above the recent ones is treated like a non-finite
// step (its update is skipped and counted). With the last W accepted losses l_1..l_W,
//   mean m = (1/W) sum l_i,   std s = sqrt((1/W) sum (l_i - m)^2),   z = (loss - m) / s,
// and the step is a spike when the window is full, s > 0 and z > threshold. Skipped losses never
// enter the window. The window is part of a run's state, so resuming decides exactly as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace ember::train {

class LossSpikeGuard {
 public:
  /// `threshold` 0 disables the guard.
  LossSpikeGuard(double threshold, int64_t window);

  /// The z-score of `loss` against the window when it is a spike; a negative value otherwise.
  double spike_zscore(double loss) const;
  /// Adds an accepted step's loss to the window.
  void accept(double loss);

  std::vector<double> window() const { return {losses_.begin(), losses_.end()}; }
  void restore(const std::vector<double>& losses);

 private:
  double threshold_;
  size_t window_;
  std::deque<double> losses_;
};

}  // namespace ember::train
