// The config of `ember rl`: the shared run / train / optim / checkpoint / parallel / metrics
// sections plus `rl.*`. There is no model or data section: the architecture and the tokenizer come
// from the checkpoint named by rl.init, and prompts are drawn from a generated task. The batch is
// rl.prompts x rl.group_size completions, so train.batch_size, train.seq_len and
// train.eval_interval are not read by this recipe.
#pragma once

#include <cstdint>
#include <string>

#include "core/config/schema.h"
#include "train/config.h"

namespace ember::train::rl {

/// The `rl.*` keys (their docs are in rl_config.cpp and docs/configs.md).
struct RlOptions {
  std::string init;
  std::string task = "arithmetic";
  int64_t difficulty = 0;
  int64_t prompts = 16;
  int64_t group_size = 8;
  int64_t epochs = 1;
  int64_t minibatch_size = 0;
  double temperature = 1.0;
  double top_p = 1.0;
  int64_t max_new_tokens = 96;
  double eps_low = 0.2;
  double eps_high = 0.2;
  double dual_clip = 0;
  std::string advantage = "group_mean_std";
  double kl_coef = 0;
  std::string kl_estimator = "k3";
  std::string kl_in = "loss";
  std::string loss_agg = "token-mean";
  bool dynamic_sampling = false;
  int64_t sampling_rounds = 4;
  std::string overlong = "none";
  int64_t overlong_buffer = 16;
  double overlong_penalty = 1.0;
  double format_weight = 0.0;
  std::string reward_command;
  double reward_timeout_s = 60;
  int64_t eval_samples = 200;
  int64_t eval_interval = 0;
  int64_t eval_seed = 0;
};

/// Everything `ember rl` reads.
struct RlConfig : RecipeCommon {
  RlOptions rl;
};

/// The `rl` section bound to `c`.
void describe_rl_options(config::Schema& schema, RlOptions& c);

/// The full RL schema bound to `c`.
void describe_rl(config::Schema& schema, RlConfig& c);

}  // namespace ember::train::rl
