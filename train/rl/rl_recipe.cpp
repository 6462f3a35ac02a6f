// The RL recipe (see rl_recipe.h) on the run loop (train/run_loop.h): the policy loaded from the
// init checkpoint, one step = rollouts then the policy update, held-out task evaluation.
//
// Distributed (parallel.dp x parallel.tp, like pretraining): every rank loads the logical policy
// (and reference) from rl.init and keeps its tp shard; the LM head all-gathers its logits over tp
// (full_logits_plan), so sampling, token log-probs and entropy see the whole vocabulary and every
// tp rank samples the same tokens. The step's rl.prompts prompts are split over dp ranks by global
// prompt index (rollout.h); the loss normalisers are global counts (policy_update.h); metrics are
// reduced over dp.
//
// FLOPs, over every rank, with F(L) / T(L) the forward / training FLOPs per token at sequence
// length L (model/flops.h) and L the mean prompt + response length of the kept rollouts:
//   flops_rollout = F(L) x (completions x mean prompt length + generated tokens)
//                   (+ the same for the reference when the KL is in the reward)
//   flops_update  = T(L) x epochs x (prompt + response tokens of the kept rollouts)
//                   (+ F(L) x the same for the reference when the KL is in the loss)
#include "train/rl/rl_recipe.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "checkpoint/model_weights.h"
#include "checkpoint/resolve.h"
#include "checkpoint/run_files.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "data/tasks/registry.h"
#include "data/tokenizer/tokenizer.h"
#include "model/flops.h"
#include "model/transformer.h"
#include "train/checkpoint.h"
#include "train/parallel_setup.h"
#include "train/rl/policy_update.h"
#include "train/rl/rollout.h"
#include "train/run_loop.h"
#include "train/runtime.h"
#include "train/sampling/task_eval.h"

namespace fs = std::filesystem;

namespace ember::train::rl {
namespace {

using sampling::evaluate_task;
using sampling::TaskEvalOptions;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// The `model:` section of `model_config` as YAML, appended to saved configs.
std::string model_section_yaml(model::ModelConfig model_config) {
  config::Schema schema;
  describe_model(schema, model_config);
  return "# model: the architecture of rl.init (read by checkpoint loaders; not an rl key)\n" + schema.to_yaml();
}

int64_t minibatches_per_epoch(const RlOptions& rl) {
  const int64_t rollouts = rl.prompts * rl.group_size;
  const int64_t size = rl.minibatch_size > 0 ? rl.minibatch_size : rollouts;
  return (rollouts + size - 1) / size;
}

RolloutOptions rollout_options(const RlConfig& config, distributed::Communicator* dp) {
  const auto& rl = config.rl;
  RolloutOptions o;
  o.prompts = rl.prompts;
  o.group_size = rl.group_size;
  o.max_new_tokens = rl.max_new_tokens;
  o.temperature = rl.temperature;
  o.top_p = rl.top_p;
  o.difficulty = int(rl.difficulty);
  o.seed = uint64_t(config.train.seed);
  o.dynamic_sampling = rl.dynamic_sampling;
  o.sampling_rounds = rl.sampling_rounds;
  o.overlong = parse_overlong(rl.overlong);
  o.overlong_buffer = rl.overlong_buffer;
  o.overlong_penalty = rl.overlong_penalty;
  o.advantage = parse_advantage_mode(rl.advantage);
  o.kl_reward_coef = rl.kl_in == "reward" ? rl.kl_coef : 0.0;
  o.kl_estimator = parse_kl_estimator(rl.kl_estimator);
  o.dp = dp;
  return o;
}

UpdateOptions update_options(const RlConfig& config, const Runtime& runtime, distributed::Communicator* dp) {
  const auto& rl = config.rl;
  UpdateOptions o;
  o.epochs = rl.epochs;
  o.minibatches = minibatches_per_epoch(rl);
  o.micro_batch_size = config.train.micro_batch_size;
  o.temperature = rl.temperature;
  o.seed = uint64_t(config.train.seed);
  o.bf16_autocast = runtime.bf16_autocast;
  o.loss.eps_low = rl.eps_low;
  o.loss.eps_high = rl.eps_high;
  o.loss.dual_clip = rl.dual_clip;
  o.loss.kl_coef = rl.kl_in == "loss" ? rl.kl_coef : 0.0;
  o.loss.kl_estimator = parse_kl_estimator(rl.kl_estimator);
  o.loss.aggregation = parse_loss_aggregation(rl.loss_agg);
  o.loss.norm_length = double(rl.max_new_tokens);
  o.dp = dp;
  return o;
}

Scalars step_scalars(const RolloutStats& r, const UpdateStats& u, double rollout_s, double update_s,
                     int64_t kept_groups) {
  const double n = double(std::max<int64_t>(1, r.completions));
  const double mean = r.reward_sum / n;
  const double variance = std::max(0.0, r.reward_square_sum / n - mean * mean);
  const double kl = u.kl != 0 ? u.kl : (r.generated_tokens > 0 ? r.kl_sum / double(r.generated_tokens) : 0.0);
  Scalars s;
  s.add("reward_mean", mean)
      .add("reward_std", std::sqrt(variance))
      .add("accuracy", double(r.correct) / n)
      .add("format_score", r.format_sum / n)
      .add("frac_zero_std_groups", double(r.zero_std_groups) / double(std::max<int64_t>(1, r.groups)))
      .add("groups_kept", double(kept_groups))
      .add("sampling_rounds", double(r.rounds))
      .add("response_length_mean", double(r.generated_tokens) / n)
      .add("response_length_max", double(r.max_length), Reduce::max)
      .add("response_clip_ratio", double(r.truncated) / n)
      .add("policy_loss", u.policy_loss)
      .add("pg_loss", u.pg_loss)
      .add("clip_frac_low", u.clip_frac_low)
      .add("clip_frac_high", u.clip_frac_high)
      .add("dual_clip_frac", u.dual_clip_frac)
      .add("kl", kl)
      .add("entropy", u.entropy)
      .add("grad_norm", u.grad_norm)
      .add("lr", u.lr, Reduce::last)
      .add("logprob_gap", u.logprob_gap_mean)
      .add("logprob_gap_max", u.logprob_gap_max, Reduce::max)
      .add("updates", double(u.updates))
      .add("rollout_tokens_per_s", r.generation_s > 0 ? double(r.generated_tokens) / r.generation_s : 0.0)
      .add("train_tokens_per_s", update_s > 0 ? double(u.trained_tokens) / update_s : 0.0)
      .add("time_rollout_s", rollout_s)
      .add("time_update_s", update_s)
      .add("time_reward_s", r.scoring_s);
  return s;
}

class RlRecipe final : public Recipe {
 public:
  RlRecipe(const RlConfig& config, std::string resolved_yaml)
      : config_(config), rl_(config.rl), resolved_yaml_(std::move(resolved_yaml)) {}

  void prepare(const ParallelRun& run) override {
    run_ = &run;
    task_ = &data::tasks::find_task(rl_.task);
    init_dir_ = checkpoint::resolve_checkpoint(rl_.init);
    model_config_ = checkpoint::read_model_config(init_dir_);
    const auto tokenizer_path = checkpoint::checkpoint_tokenizer(init_dir_);
    tokenizer_.emplace(data::Tokenizer::load(tokenizer_path.string()));
    tokenizer_json_ = read_file(tokenizer_path);
    saved_yaml_ = resolved_yaml_ + model_section_yaml(model_config_);
  }
  model::ModelConfig model_config() const override { return model_config_; }
  int64_t updates_per_step() const override { return rl_.epochs * minibatches_per_epoch(rl_); }
  std::string saved_config() const override { return saved_yaml_; }
  std::string tokenizer_json() const override { return tokenizer_json_; }

  BuiltModel build(bool resuming) override {
    policy_ = checkpoint::load_model(init_dir_, run_->runtime.kernels);  // every rank loads the logical policy (a resume overwrites it)
    policy_->to(run_->runtime.device);
    if (!resuming) log::info("starting from {}", init_dir_.string());
    log::info("model: {:.3f}M parameters from {}; task {} (difficulty {}), {} prompts x {} samples per step, "
              "{} update(s) per step",
              double(model::count_parameters(model_config_)) / 1e6, init_dir_.string(), rl_.task,
              rl_.difficulty > 0 ? rl_.difficulty : task_->default_difficulty(), rl_.prompts, rl_.group_size,
              updates_per_step());
    return {policy_, full_logits_plan()};
  }
  void attach(Trainer& trainer, const distributed::ParallelLayout&) override {
    trainer_ = &trainer;
    const auto& mesh = *run_->mesh;
    if (rl_.kl_coef > 0) {  // frozen, sharded like the policy
      reference_ = checkpoint::load_model(init_dir_, run_->runtime.kernels);
      (*reference_)->to(run_->runtime.device);
      distributed::parallelize(**reference_, mesh, full_logits_plan());
      (*reference_)->eval();
      for (auto& p : (*reference_)->parameters()) p.set_requires_grad(false);
    }
    rewards_.emplace(*task_, rl_.format_weight, rl_.reward_command, rl_.reward_timeout_s);
    collector_.emplace(policy_, reference_ ? &*reference_ : nullptr, *tokenizer_, *task_, *rewards_,
                       rollout_options(config_, mesh.dp_group.get()));
    update_ = update_options(config_, run_->runtime, mesh.dp_group.get());
    update_.vocab_limit = tokenizer_->vocab_size();
    eval_options_.samples = rl_.eval_samples;
    eval_options_.seed = uint64_t(rl_.eval_seed);
    eval_options_.difficulty = int(rl_.difficulty);
    eval_options_.max_new_tokens = rl_.max_new_tokens;
    eval_options_.dp = mesh.dp_group.get();
  }

  nlohmann::json state() const override {
    return {{"next_prompt_index", next_prompt_index_}, {"generated_tokens", generated_tokens_}};
  }
  void restore(const nlohmann::json& state) override {
    next_prompt_index_ = state.at("next_prompt_index").get<uint64_t>();
    generated_tokens_ = state.value("generated_tokens", int64_t(0));
  }

  StepReport step(int64_t step) override {
    const auto rollout_start = Clock::now();
    auto batch = collector_->collect(next_prompt_index_);
    const double rollout_s = seconds_since(rollout_start);
    const auto update_start = Clock::now();
    auto stats = update_policy(*trainer_, policy_, reference_ ? &*reference_ : nullptr, batch, update_, step);
    const double update_s = seconds_since(update_start);
    generated_tokens_ += batch.stats.generated_tokens;

    StepReport report;
    report.scalars = step_scalars(batch.stats, stats, rollout_s, update_s, batch.global_rollouts / rl_.group_size);
    report.scalars.add("tokens_generated", double(generated_tokens_), Reduce::last);
    report.tokens = stats.trained_tokens;
    report.flops = step_flops(batch);
    return report;
  }

  bool evaluation_due(int64_t step) const override {
    if (rl_.eval_samples <= 0) return false;
    return step == 0 || (rl_.eval_interval > 0 && step % rl_.eval_interval == 0) || step == config_.train.steps;
  }
  void evaluate(int64_t step, Scalars& scalars) override {
    auto result = evaluate_task(policy_, *tokenizer_, *task_, eval_options_);
    policy_->train();
    scalars.add("eval_accuracy", result.accuracy, Reduce::last)
        .add("eval_format_score", result.format_score, Reduce::last)
        .add("eval_length_mean", result.mean_length, Reduce::last);
    log::info("step {}: held-out accuracy {:.3f} ({} / {} {} problems, greedy)", step, result.accuracy, result.correct,
              result.samples, rl_.task);
  }
  bool log_every_step() const override { return true; }
  std::vector<ConsoleField> console_fields() const override {
    return {{"reward", "reward_mean", "{:.3f}"}, {"acc", "accuracy", "{:.3f}"},
            {"len", "response_length_mean", "{:.1f}"}, {"loss", "policy_loss", "{:+.4f}"},
            {"kl", "kl", "{:.2e}"}, {"gap", "logprob_gap", "{:.1e}"},
            {"rollout", "time_rollout_s", "{:.1f}s"}, {"update", "time_update_s", "{:.1f}s"}};
  }
  std::string summary() const override { return fmt::format(", {} tokens generated", generated_tokens_); }

 private:
  /// The step's rollout and update FLOPs over every rank (see the top).
  std::vector<std::pair<std::string, double>> step_flops(const RolloutBatch& batch) const {
    double prompt_tokens = 0, sequence_tokens = 0;
    for (const auto& r : batch.rollouts) {
      prompt_tokens += double(r.prompt_ids.size());
      sequence_tokens += double(r.prompt_ids.size() + r.completion_ids.size());
    }
    const auto sums = all_reduce_values(*run_->mesh->dp_group, {prompt_tokens, sequence_tokens},
                                        distributed::ReduceOp::sum, run_->runtime.device);
    const double kept = double(std::max<int64_t>(1, batch.global_rollouts));
    const auto length = std::max<int64_t>(1, int64_t(std::llround(sums[1] / kept)));
    const double forward = model::forward_flops_per_token(model_config_, length);
    const double training = model::training_flops_per_token(model_config_, length);
    const double rollout_tokens = double(batch.stats.completions) * sums[0] / kept + double(batch.stats.generated_tokens);
    const double update_tokens = double(rl_.epochs) * sums[1];
    const bool reference = rl_.kl_coef > 0;
    return {{"flops_rollout", forward * rollout_tokens * (reference && rl_.kl_in == "reward" ? 2 : 1)},
            {"flops_update", (training + (reference && rl_.kl_in == "loss" ? forward : 0.0)) * update_tokens}};
  }

  const RlConfig& config_;
  const RlOptions& rl_;
  std::string resolved_yaml_, saved_yaml_, tokenizer_json_;
  const ParallelRun* run_ = nullptr;
  const data::tasks::Task* task_ = nullptr;
  fs::path init_dir_;
  model::ModelConfig model_config_;
  std::optional<data::Tokenizer> tokenizer_;
  model::Transformer policy_{nullptr};
  std::optional<model::Transformer> reference_;
  Trainer* trainer_ = nullptr;
  std::optional<RewardFunction> rewards_;
  std::optional<RolloutCollector> collector_;
  UpdateOptions update_;
  TaskEvalOptions eval_options_;
  uint64_t next_prompt_index_ = 0;
  int64_t generated_tokens_ = 0;
};

}  // namespace

void run_rl(const RlConfig& config, const std::string& resolved_yaml) {
  RlRecipe recipe(config, resolved_yaml);
  run_recipe(config, recipe);
}

}  // namespace ember::train::rl
