// Rollouts: one RL step's prompts, their sampled completions, rewards and advantages.
//
// For a step, `prompts` problems are drawn from the task's train stream (the next unused indices)
// and each is sampled `group_size` times by the generation engine on the policy's own weights,
// keeping every sampled token's log-probability. Completions are scored (rewards.h), then shaped:
//   overlong = soft:    reward += overlong_penalty(length)        (DAPO soft punishment)
//   KL in the reward:   reward -= kl_coef * sum_t KL_t            (KL_t from rollout vs reference)
// and turned into group advantages (advantages.h). overlong = filter keeps truncated responses in
// their group's statistics but out of the loss.
//
// Dynamic sampling (DAPO) drops groups whose shaped rewards are all equal (no gradient) and draws
// more prompts - as many as are still missing - for up to `sampling_rounds` generation rounds;
// if the step is still short it trains on the groups it has, and if none has any spread it trains
// on the last round's groups (their advantages are zero). Seeds are a function of (seed, prompt
// index, sample), so a resumed run samples exactly what the uninterrupted one would have.
//
// Data parallel (options.dp): each round's prompts are split over the dp ranks by global prompt
// index (rank d of D samples the contiguous prompts [floor(d n / D), floor((d + 1) n / D)) of the
// round's n, all group_size samples of a prompt on that rank, so a group's advantages need no
// communication). The seeds depend on (seed, prompt index, sample) only, so every layout samples
// the same completions. One all-reduce per round tells every rank how many groups each rank kept:
// the dynamic-sampling refill (n = the prompts still missing over all ranks) and the global
// position of every kept rollout (Rollout::index, the single-process order: round, prompt,
// sample) follow from it, and the step's statistics are summed over dp. The tp ranks of a dp
// group sample the same prompts with the same seeds on full-vocabulary logits (the same tokens).
#pragma once

#include <cstdint>
#include <vector>

#include "data/tasks/problem.h"
#include "data/tasks/task.h"
#include "data/tokenizer/tokenizer.h"
#include "distributed/communicator.h"
#include "model/transformer.h"
#include "train/rl/advantages.h"
#include "train/rl/kl.h"
#include "train/rl/rewards.h"

namespace ember::train::rl {

enum class Overlong { kNone, kFilter, kSoft };

/// "none", "filter" or "soft"; anything else throws ember::UsageError.
Overlong parse_overlong(std::string_view name);

struct RolloutOptions {
  int64_t prompts = 16;
  int64_t group_size = 8;
  int64_t max_new_tokens = 96;
  double temperature = 1.0;
  double top_p = 1.0;
  int difficulty = 0;  ///< 0 = the task's default
  uint64_t seed = 0;
  bool dynamic_sampling = false;
  int64_t sampling_rounds = 4;
  Overlong overlong = Overlong::kNone;
  int64_t overlong_buffer = 16;
  double overlong_penalty = 1.0;
  AdvantageMode advantage = AdvantageMode::kGroupMeanStd;
  double kl_reward_coef = 0;  ///< > 0 puts the KL in the reward (needs a reference model)
  KlEstimator kl_estimator = KlEstimator::kK1;
  distributed::Communicator* dp = nullptr;  ///< shards the prompts over this group; null: one process
};

/// One sampled completion.
struct Rollout {
  size_t group = 0;  ///< index of its problem in RolloutBatch::problems
  size_t index = 0;  ///< position in the step's global batch (over every dp rank)
  std::vector<int64_t> prompt_ids;
  std::vector<int64_t> completion_ids;  ///< the stop token included when it stopped
  std::vector<float> logprobs;          ///< rollout log-probs, one per completion token
  bool truncated = false;               ///< hit max_new_tokens without stopping
  Score score;                          ///< verifier / reward command output
  double reward = 0;                    ///< after shaping
  double kl = 0;                        ///< summed KL to the reference (KL in the reward only)
  double advantage = 0;
  bool counts = true;                   ///< false: left out of the loss (overlong filter)
};

/// Statistics over every completion sampled in the step (dropped groups included), over every dp rank.
struct RolloutStats {
  int64_t completions = 0, groups = 0, zero_std_groups = 0, rounds = 0, truncated = 0, correct = 0;
  int64_t generated_tokens = 0, max_length = 0;
  double reward_sum = 0, reward_square_sum = 0, format_sum = 0, kl_sum = 0;
  double generation_s = 0, scoring_s = 0;
};

struct RolloutBatch {
  std::vector<data::tasks::Problem> problems;  ///< the kept groups' problems
  std::vector<Rollout> rollouts;               ///< group_size consecutive rollouts per kept problem
  int64_t global_rollouts = 0;                 ///< kept rollouts over every dp rank (Rollout::index < this)
  RolloutStats stats;
};

class RolloutCollector {
 public:
  /// `reference` is needed only when options.kl_reward_coef > 0. All referents must outlive this.
  RolloutCollector(model::Transformer& policy, model::Transformer* reference, const data::Tokenizer& tokenizer,
                   const data::tasks::Task& task, const RewardFunction& rewards, RolloutOptions options);

  /// Samples, scores and shapes one step's rollouts, taking prompts from `next_prompt_index` on
  /// (advanced past every prompt drawn).
  RolloutBatch collect(uint64_t& next_prompt_index);

 private:
  /// Generates and scores group_size completions for each of `problems` into `out`.
  void sample_groups(const std::vector<data::tasks::Problem>& problems, uint64_t first_index,
                     std::vector<Rollout>& out, RolloutStats& stats);
  void shape_rewards(std::vector<Rollout>& rollouts);

  model::Transformer& policy_;
  model::Transformer* reference_;
  const data::Tokenizer& tokenizer_;
  const data::tasks::Task& task_;
  const RewardFunction& rewards_;
  RolloutOptions options_;
};

}  // namespace ember::train::rl
