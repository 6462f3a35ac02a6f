// A tiny deterministic RL run on a trivially learnable reward: a 1-layer model, one prompt, reward
// 1 when the first sampled token is kTarget. Rollouts from the generation engine, group advantages,
// the policy loss and the trainer together must raise the reward from chance (1/8) to most of the
// time, for each GRPO-family configuration; and the rollout/trainer log-prob gap must be ~0.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include <ATen/Context.h>

#include "model/generate.h"
#include "model/transformer.h"
#include "train/rl/advantages.h"
#include "train/rl/policy_update.h"
#include "train/trainer.h"

using namespace ember;
using namespace ember::train::rl;

namespace {

constexpr int64_t kTarget = 5;

struct RlSetup {
  AdvantageMode advantage;
  LossAggregation aggregation;
  double eps_high;
  int64_t epochs;
  int64_t minibatches;
};

/// Mean reward of the first and of the last three steps.
/// With vocab_limit > 0 the ids at and above it play an embedding's padding rows (a tokenizer
/// smaller than the model's vocabulary): rollout and trainer both leave them out, and the largest
/// sampled id goes to *largest_token.
std::pair<double, double> train_tiny(const RlSetup& setup, int64_t steps, double* first_gap, int64_t vocab_limit = 0,
                                     int64_t* largest_token = nullptr) {
  at::manual_seed(3);
  model::ModelConfig config{.vocab_size = 8, .d_model = 16, .n_layers = 1, .n_heads = 2, .n_kv_heads = 2,
                            .ffn_hidden = 32, .max_seq_len = 16};
  model::Transformer policy(config);
  train::OptimConfig optim;
  optim.lr = 1e-2;
  optim.schedule = "constant";
  optim.weight_decay = 0;
  train::TrainConfig train_config;
  const int64_t groups = 4, group_size = 8;
  train::Trainer trainer(policy.ptr(), optim, train_config, steps * setup.epochs * setup.minibatches);

  UpdateOptions update;
  update.epochs = setup.epochs;
  update.minibatches = setup.minibatches;
  update.loss.aggregation = setup.aggregation;
  update.loss.eps_high = setup.eps_high;
  update.loss.norm_length = 2;
  update.vocab_limit = vocab_limit;
  std::vector<double> step_rewards;
  for (int64_t step = 1; step <= steps; ++step) {
    model::GenerationOptions generation;
    generation.max_new_tokens = 2;
    generation.seed = uint64_t(step) * 1000;
    generation.sampling.vocab_limit = vocab_limit;
    std::vector<std::vector<int64_t>> prompts(size_t(groups * group_size), std::vector<int64_t>{1, 2});
    auto completions = model::generate(policy, prompts, generation);
    RolloutBatch batch;
    std::vector<double> rewards;
    for (size_t i = 0; i < completions.size(); ++i) {
      Rollout r;
      r.group = i / size_t(group_size);
      r.index = i;
      r.prompt_ids = prompts[i];
      r.completion_ids = completions[i].token_ids;
      for (int64_t id : r.completion_ids)
        if (largest_token) *largest_token = std::max(*largest_token, id);
      r.logprobs = completions[i].logprobs;
      r.reward = completions[i].token_ids.front() == kTarget ? 1.0 : 0.0;
      rewards.push_back(r.reward);
      batch.rollouts.push_back(r);
    }
    batch.global_rollouts = int64_t(batch.rollouts.size());
    auto advantages = batch_advantages(rewards, size_t(group_size), setup.advantage);
    for (size_t i = 0; i < advantages.size(); ++i) batch.rollouts[i].advantage = advantages[i];
    auto stats = update_policy(trainer, policy, nullptr, batch, update, step);
    if (step == 1 && first_gap) *first_gap = stats.logprob_gap_max;
    double mean = 0;
    for (double r : rewards) mean += r / double(rewards.size());
    step_rewards.push_back(mean);
  }
  auto average = [](auto begin, auto end) { return std::accumulate(begin, end, 0.0) / double(end - begin); };
  return {average(step_rewards.begin(), step_rewards.begin() + 3), average(step_rewards.end() - 3, step_rewards.end())};
}

}  // namespace

TEST(RlLearns, RewardRisesForEveryConfiguration) {
  const std::vector<std::pair<std::string, RlSetup>> setups = {
      {"grpo", {AdvantageMode::kGroupMeanStd, LossAggregation::kSeqMeanTokenMean, 0.2, 1, 1}},
      {"dapo", {AdvantageMode::kGroupMeanStd, LossAggregation::kTokenMean, 0.28, 1, 2}},
      {"dr_grpo", {AdvantageMode::kGroupMean, LossAggregation::kSeqMeanTokenSumNorm, 0.2, 2, 2}},
      {"rloo", {AdvantageMode::kRloo, LossAggregation::kTokenMean, 0.2, 1, 1}},
      {"raft", {AdvantageMode::kReward, LossAggregation::kSeqMeanTokenMean, 0.2, 1, 1}},
  };
  for (const auto& [name, setup] : setups) {
    double gap = 1;
    auto [before, after] = train_tiny(setup, 20, &gap);
    EXPECT_LT(before, 0.4) << name;
    EXPECT_GT(after, 0.8) << name << ": reward " << before << " -> " << after;
    EXPECT_LT(gap, 1e-4) << name << ": rollout and trainer log-probs differ";
  }
}

TEST(RlLearns, IsDeterministic) {
  const RlSetup grpo{AdvantageMode::kGroupMeanStd, LossAggregation::kSeqMeanTokenMean, 0.2, 1, 1};
  EXPECT_EQ(train_tiny(grpo, 4, nullptr), train_tiny(grpo, 4, nullptr));
}

TEST(RlLearns, PaddedVocabularyRowsAreNeitherSampledNorScored) {
  // Ids 6 and 7 are padding rows: never sampled, and the trainer's log-probs are over ids 0..5
  // like the sampler's, so the first update sees no gap. kTarget (5) is inside the limit.
  const RlSetup grpo{AdvantageMode::kGroupMeanStd, LossAggregation::kSeqMeanTokenMean, 0.2, 1, 1};
  double gap = 1;
  int64_t largest = -1;
  auto [before, after] = train_tiny(grpo, 20, &gap, /*vocab_limit=*/6, &largest);
  EXPECT_EQ(largest, 5);
  EXPECT_LT(gap, 1e-4) << "rollout and trainer log-probs differ";
  EXPECT_GT(after, 0.8) << "reward " << before << " -> " << after;
}
