// Group-relative advantages: each prompt is sampled G times, and a completion's advantage is its
// reward measured against the other completions of the same prompt (no value network).
//
// For a group with rewards r_1..r_G, mean m = (1/G) sum_j r_j and unbiased standard deviation
// s = sqrt(sum_j (r_j - m)^2 / (G - 1)):
//   group_mean_std (GRPO, DAPO):  A_i = (r_i - m) / (s + eps)            eps = 1e-6
//   group_mean     (Dr. GRPO):    A_i = r_i - m
//   rloo           (RLOO):        A_i = r_i - (1/(G-1)) sum_{j != i} r_j = G/(G-1) * (r_i - m)
//   reward         (REINFORCE without a baseline): A_i = r_i
// For the three group-relative modes, a group of one, and a group whose rewards are all equal, has
// A_i = 0 for every member: it carries no learning signal (the "zero-std" groups dynamic sampling
// drops). `reward` keeps every completion's own reward: with 0/1 correctness rewards it is
// rejection-sampling fine-tuning (RAFT, ReST-EM, expert iteration): the likelihood of the correct
// completions is raised and the wrong ones are dropped, a lower-variance gradient than the centred
// modes at the price of a biased one (it also sharpens prompts the policy already solves). The
// advantage is the same for every token of a completion.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ember::train::rl {

enum class AdvantageMode { kGroupMeanStd, kGroupMean, kRloo, kReward };

/// "group_mean_std", "group_mean", "rloo" or "reward"; anything else throws ember::UsageError.
AdvantageMode parse_advantage_mode(std::string_view name);

constexpr double kAdvantageStdEps = 1e-6;

/// Advantages of one group's rewards (in the same order).
std::vector<double> group_advantages(std::span<const double> rewards, AdvantageMode mode);

/// True when every reward of the group is the same (to 1e-12): the group gives no gradient.
bool has_zero_std(std::span<const double> rewards);

/// Advantages of consecutive groups of `group_size` rewards (rewards.size() must be a multiple).
std::vector<double> batch_advantages(std::span<const double> rewards, size_t group_size, AdvantageMode mode);

}  // namespace ember::train::rl
