// Group-relative advantages (see advantages.h).
#include "train/rl/advantages.h"

#include <cmath>

#include "core/error.h"

namespace ember::train::rl {

AdvantageMode parse_advantage_mode(std::string_view name) {
  if (name == "group_mean_std") return AdvantageMode::kGroupMeanStd;
  if (name == "group_mean") return AdvantageMode::kGroupMean;
  if (name == "rloo") return AdvantageMode::kRloo;
  if (name == "reward") return AdvantageMode::kReward;
  fail_usage("unknown advantage mode '{}': use group_mean_std, group_mean, rloo or reward", name);
}

bool has_zero_std(std::span<const double> rewards) {
  for (double r : rewards) {
    if (std::abs(r - rewards.front()) > 1e-12) return false;
  }
  return true;
}

std::vector<double> group_advantages(std::span<const double> rewards, AdvantageMode mode) {
  const size_t g = rewards.size();
  if (mode == AdvantageMode::kReward) return {rewards.begin(), rewards.end()};
  std::vector<double> advantages(g, 0.0);
  if (g < 2 || has_zero_std(rewards)) return advantages;
  double mean = 0;
  for (double r : rewards) mean += r;
  mean /= double(g);
  double squares = 0;
  for (double r : rewards) squares += (r - mean) * (r - mean);
  const double std_dev = std::sqrt(squares / double(g - 1));
  for (size_t i = 0; i < g; ++i) {
    const double centred = rewards[i] - mean;
    switch (mode) {
      case AdvantageMode::kGroupMeanStd: advantages[i] = centred / (std_dev + kAdvantageStdEps); break;
      case AdvantageMode::kGroupMean: advantages[i] = centred; break;
      case AdvantageMode::kRloo: advantages[i] = centred * double(g) / double(g - 1); break;
      case AdvantageMode::kReward: break;  // returned above
    }
  }
  return advantages;
}

std::vector<double> batch_advantages(std::span<const double> rewards, size_t group_size, AdvantageMode mode) {
  if (group_size == 0 || rewards.size() % group_size != 0) {
    fail("{} rewards do not split into groups of {}", rewards.size(), group_size);
  }
  std::vector<double> advantages;
  advantages.reserve(rewards.size());
  for (size_t start = 0; start < rewards.size(); start += group_size) {
    auto group = group_advantages(rewards.subspan(start, group_size), mode);
    advantages.insert(advantages.end(), group.begin(), group.end());
  }
  return advantages;
}

}  // namespace ember::train::rl
