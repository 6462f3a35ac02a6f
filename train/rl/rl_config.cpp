// Schema of the `rl` section and of the whole `ember rl` config (see rl_config.h).
#include "train/rl/rl_config.h"

#include <fmt/format.h>

#include "data/tasks/registry.h"
#include "data/tasks/task.h"

namespace ember::train::rl {

using config::Schema;

void describe_rl_options(Schema& s, RlOptions& c) {
  s.section("rl",
            "Reasoning RL (`ember rl`): GRPO / Dr. GRPO / DAPO / RLOO by configuration. The rl recipe reads "
            "run, train, optim, checkpoint, parallel, metrics and rl; the model and tokenizer come from rl.init. "
            "One step samples rl.prompts x rl.group_size completions, scores them, and makes rl.epochs passes of "
            "minibatch updates; train.steps counts these steps (train.batch_size, seq_len and eval_interval "
            "are not read). Presets: `configs/nano/{grpo,dapo,dr_grpo}.yaml`.");
  s.add("rl.init", c.init, "Checkpoint (or run directory: its newest checkpoint) to start from; also the KL reference.");
  s.add("rl.task", c.task, "Generated task the prompts are drawn from (train split) and verified with.")
      .choices(data::tasks::task_names());
  s.add("rl.difficulty", c.difficulty, "Task difficulty 1-5; 0 means the task's default.").min(0).max(5);
  s.add("rl.prompts", c.prompts, "Prompts per step (global over data-parallel ranks).").min(1);
  s.add("rl.group_size", c.group_size, "Completions sampled per prompt; advantages compare within a group.").min(2);
  s.add("rl.epochs", c.epochs, "Passes over each step's rollouts.").min(1);
  s.add("rl.minibatch_size", c.minibatch_size,
        "Completions per optimizer update; 0 means all of the step's (one update per epoch). Micro-batches "
        "of train.micro_batch_size accumulate into each update.")
      .min(0);
  s.add("rl.temperature", c.temperature, "Sampling temperature; log-probs in the loss use the same temperature.")
      .check([&c]() -> std::optional<std::string> {
        if (c.temperature > 0) return std::nullopt;
        return std::string("must be positive (RL samples; greedy rollouts would all be identical)");
      });
  s.add("rl.top_p", c.top_p, "Nucleus sampling mass of the rollouts (1 keeps every token).").min(0.01).max(1);
  s.add("rl.max_new_tokens", c.max_new_tokens, "Response length limit; longer responses are truncated.").min(1);
  s.add("rl.eps_low", c.eps_low, "Lower clip: the ratio is clipped at 1 - eps_low where the advantage is negative.")
      .min(0).max(0.99);
  s.add("rl.eps_high", c.eps_high, "Upper clip: 1 + eps_high where the advantage is positive (DAPO: 0.28).").min(0);
  s.add("rl.dual_clip", c.dual_clip, "Dual clip c > 1 caps the loss of negative-advantage tokens at -A c; 0 is off.")
      .min(0)
      .check([&c]() -> std::optional<std::string> {
        if (c.dual_clip == 0 || c.dual_clip > 1) return std::nullopt;
        return std::string("must be 0 (off) or greater than 1");
      });
  s.add("rl.advantage", c.advantage,
        "Group advantage: (r - mean) / std (GRPO, DAPO), r - mean (Dr. GRPO), leave-one-out (RLOO), or the reward "
        "itself (REINFORCE without baseline; rejection-sampling fine-tuning with 0/1 rewards).")
      .choices({"group_mean_std", "group_mean", "rloo", "reward"});
  s.add("rl.kl_coef", c.kl_coef, "Weight of the KL to the frozen rl.init policy; 0 turns it off.").min(0);
  s.add("rl.kl_estimator", c.kl_estimator, "KL estimator per token: k1 = r, k2 = r^2/2, k3 = e^-r + r - 1.")
      .choices({"k1", "k2", "k3"});
  s.add("rl.kl_in", c.kl_in,
        "Where the KL goes: `loss` adds kl_coef x KL_t per token; `reward` subtracts kl_coef x the sequence's "
        "summed KL from its reward before advantages (no gradient through it).")
      .choices({"loss", "reward"});
  s.add("rl.loss_agg", c.loss_agg,
        "Loss aggregation over each update's tokens: token-mean (DAPO), seq-mean-token-mean (GRPO), or "
        "seq-mean-token-sum-norm (Dr. GRPO: token sums / (sequences x rl.max_new_tokens)).")
      .choices({"token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"});
  s.add("rl.dynamic_sampling", c.dynamic_sampling,
        "Drop groups whose rewards are all equal and sample more prompts to refill the step (DAPO).");
  s.add("rl.sampling_rounds", c.sampling_rounds,
        "Dynamic sampling gives up refilling after this many generation rounds per step and trains on the groups "
        "it has.")
      .min(1);
  s.add("rl.overlong", c.overlong,
        "Responses cut at rl.max_new_tokens: `none` treats them like others; `filter` leaves them out of the loss; "
        "`soft` penalises lengths inside the last rl.overlong_buffer tokens linearly, down to -rl.overlong_penalty.")
      .choices({"none", "filter", "soft"});
  s.add("rl.overlong_buffer", c.overlong_buffer, "Length of the soft overlong-penalty zone before rl.max_new_tokens.")
      .min(1);
  s.add("rl.overlong_penalty", c.overlong_penalty, "Reward penalty at rl.max_new_tokens under overlong=soft.").min(0);
  s.add("rl.format_weight", c.format_weight,
        "Built-in reward = correct (0/1) + format_weight x format score (0-1, the tag structure).")
      .min(0);
  s.add("rl.reward_command", c.reward_command,
        "External reward: a command run with /bin/sh -c once per step; it reads JSON lines {prompt, completion, "
        "metadata} on stdin and writes one reward per line (a number or {\"reward\": x}). Empty uses the built-in "
        "verifier. Accuracy is always the verifier's.");
  s.add("rl.reward_timeout_s", c.reward_timeout_s, "The reward command must answer within this many seconds.")
      .min(0.001);
  s.add("rl.eval_samples", c.eval_samples, "Distinct held-out (eval split) problems for greedy accuracy; 0 skips evaluation.")
      .min(0);
  s.add("rl.eval_interval", c.eval_interval, "Evaluate every N steps (and before the first and after the last); 0 "
        "only before and after.").min(0);
  s.add("rl.eval_seed", c.eval_seed, "Seed of the held-out problem stream (the same as `ember eval --seed`).").min(0);
  s.add_check([&c]() -> std::optional<std::string> {
    if (c.init.empty()) return std::string("rl.init is empty: name the checkpoint or run directory to start from");
    const int64_t rollouts = c.prompts * c.group_size;
    if (c.minibatch_size > rollouts) {
      return fmt::format("rl.minibatch_size ({}) exceeds rl.prompts x rl.group_size ({})", c.minibatch_size, rollouts);
    }
    if (c.overlong == "soft" && c.overlong_buffer >= c.max_new_tokens) {
      return fmt::format("rl.overlong_buffer ({}) must be shorter than rl.max_new_tokens ({})", c.overlong_buffer,
                         c.max_new_tokens);
    }
    return std::nullopt;
  });
}

void describe_rl(Schema& s, RlConfig& c) {
  describe_common(s, c);
  describe_rl_options(s, c.rl);
}

}  // namespace ember::train::rl
