// Loss-spike guard (see loss_spike_guard.h for the rule).
#include "train/loss_spike_guard.h"

#include <cmath>

namespace ember::train {

LossSpikeGuard::LossSpikeGuard(double threshold, int64_t window)
    : threshold_(threshold), window_(size_t(window > 1 ? window : 2)) {}

double LossSpikeGuard::spike_zscore(double loss) const {
  if (threshold_ <= 0 || losses_.size() < window_) return -1;
  double mean = 0;
  for (double l : losses_) mean += l;
  mean /= double(losses_.size());
  double variance = 0;
  for (double l : losses_) variance += (l - mean) * (l - mean);
  const double std_dev = std::sqrt(variance / double(losses_.size()));
  if (std_dev <= 0) return -1;
  const double z = (loss - mean) / std_dev;
  return z > threshold_ ? z : -1;
}

void LossSpikeGuard::accept(double loss) {
  if (threshold_ <= 0) return;
  losses_.push_back(loss);
  while (losses_.size() > window_) losses_.pop_front();
}

void LossSpikeGuard::restore(const std::vector<double>& losses) {
  losses_.assign(losses.begin(), losses.end());
  while (losses_.size() > window_) losses_.pop_front();
}

}  // namespace ember::train
