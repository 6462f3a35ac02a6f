// The RL recipe (see rl_recipe.h): setup from the init checkpoint, resume, the step loop with
// rollouts, updates, metrics, evaluation and checkpoints.
//
// Distributed (parallel.dp x parallel.tp, like pretraining): every rank loads the logical policy
// (and reference) from rl.init and keeps its tp shard; the LM head all-gathers its logits over tp
// (full_logits_plan), so sampling, token log-probs and entropy see the whole vocabulary and every
// tp rank samples the same tokens. The step's rl.prompts prompts are split over dp ranks by global
// prompt index (rollout.h); the loss normalisers are global counts (policy_update.h); metrics are
// reduced over dp and written by rank 0; every rank writes its own slices of a checkpoint (any
// layout resumes any other, and any pretraining checkpoint is an rl.init).
#include "train/rl/rl_recipe.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "data/tasks/registry.h"
#include "data/tokenizer/tokenizer.h"
#include "model/flops.h"
#include "model/transformer.h"
#include "checkpoint/model_weights.h"
#include "checkpoint/resolve.h"
#include "checkpoint/run_files.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"
#include "train/parallel_setup.h"
#include "train/progress.h"
#include "train/preemption.h"
#include "train/rl/policy_update.h"
#include "train/rl/rollout.h"
#include "train/runtime.h"
#include "train/sampling/task_eval.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace ember::train::rl {
namespace {

using sampling::evaluate_task;
using sampling::TaskEvalOptions;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// What a checkpoint carries besides weights and optimizer state.
struct RunState {
  int64_t step = 0;  ///< RL steps done
  uint64_t next_prompt_index = 0;
  int64_t generated_tokens = 0;
  int64_t trained_tokens = 0;
};

nlohmann::json to_json(const RunState& s) {
  return {{"rl_step", s.step},
          {"next_prompt_index", s.next_prompt_index},
          {"generated_tokens", s.generated_tokens},
          {"trained_tokens", s.trained_tokens}};
}

RunState run_state_from(const nlohmann::json& j) {
  RunState s;
  s.step = j.at("rl_step").get<int64_t>();
  s.next_prompt_index = j.at("next_prompt_index").get<uint64_t>();
  s.generated_tokens = j.value("generated_tokens", int64_t(0));
  s.trained_tokens = j.value("trained_tokens", int64_t(0));
  return s;
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

std::vector<std::pair<std::string, double>> step_scalars(const RolloutStats& r, const UpdateStats& u,
                                                         double rollout_s, double update_s, int64_t kept_groups) {
  const double n = double(std::max<int64_t>(1, r.completions));
  const double mean = r.reward_sum / n;
  const double variance = std::max(0.0, r.reward_square_sum / n - mean * mean);
  const double kl = u.kl != 0 ? u.kl : (r.generated_tokens > 0 ? r.kl_sum / double(r.generated_tokens) : 0.0);
  return {{"reward_mean", mean},
          {"reward_std", std::sqrt(variance)},
          {"accuracy", double(r.correct) / n},
          {"format_score", r.format_sum / n},
          {"frac_zero_std_groups", double(r.zero_std_groups) / double(std::max<int64_t>(1, r.groups))},
          {"groups_kept", double(kept_groups)},
          {"sampling_rounds", double(r.rounds)},
          {"response_length_mean", double(r.generated_tokens) / n},
          {"response_length_max", double(r.max_length)},
          {"response_clip_ratio", double(r.truncated) / n},
          {"policy_loss", u.policy_loss},
          {"pg_loss", u.pg_loss},
          {"clip_frac_low", u.clip_frac_low},
          {"clip_frac_high", u.clip_frac_high},
          {"dual_clip_frac", u.dual_clip_frac},
          {"kl", kl},
          {"entropy", u.entropy},
          {"grad_norm", u.grad_norm},
          {"lr", u.lr},
          {"logprob_gap", u.logprob_gap_mean},
          {"logprob_gap_max", u.logprob_gap_max},
          {"updates", double(u.updates)},
          {"rollout_tokens_per_s", r.generation_s > 0 ? double(r.generated_tokens) / r.generation_s : 0.0},
          {"train_tokens_per_s", update_s > 0 ? double(u.trained_tokens) / update_s : 0.0},
          {"time_rollout_s", rollout_s},
          {"time_update_s", update_s},
          {"time_reward_s", r.scoring_s}};
}

}  // namespace

void run_rl(const RlConfig& config, const std::string& resolved_yaml) {
  const auto& rl = config.rl;
  const auto run_dir = fs::path(config.run.dir);
  const auto parallel = setup_parallel_run(config.train, config.parallel);
  const auto& runtime = parallel.runtime;
  const auto& mesh = parallel.mesh;
  const bool lead = parallel.lead;  // writes the run directory, metrics and checkpoints
  const auto& task = data::tasks::find_task(rl.task);
  const auto init_dir = checkpoint::resolve_checkpoint(rl.init);
  const auto model_config = checkpoint::read_model_config(init_dir);
  const auto tokenizer_path = checkpoint::checkpoint_tokenizer(init_dir);
  const auto tokenizer = data::Tokenizer::load(tokenizer_path.string());
  const std::string tokenizer_json = read_file(tokenizer_path);
  const std::string saved_yaml = resolved_yaml + model_section_yaml(model_config);
  const int64_t updates_per_step = rl.epochs * minibatches_per_epoch(rl);
  const int64_t schedule_steps =
      (config.optim.schedule_steps > 0 ? config.optim.schedule_steps : config.train.steps) * updates_per_step;

  if (lead) {
    make_directories(run_dir);
    write_file_atomic(run_dir / "config.yaml", saved_yaml);
  }

  // Every rank loads the logical policy, then keeps its tp shard (a resume overwrites it below).
  auto policy = checkpoint::load_model(init_dir, runtime.kernels);
  policy->to(runtime.device);
  const auto layout =
      std::make_shared<distributed::ParallelLayout>(distributed::parallelize(*policy, *mesh, full_logits_plan()));
  Trainer trainer(policy.ptr(), config.optim, config.train, schedule_steps,
                  TrainerParallel{mesh, layout, config.parallel.zero, config.parallel.bucket_mb,
                                  config.parallel.overlap_grad_reduce});
  RunState state;
  if (auto resume = checkpoint::find_resume_checkpoint(run_dir, config.checkpoint.resume, config.checkpoint.on_corrupt == "fallback")) {
    const checkpoint::CheckpointReader checkpoint(*resume);
    state = run_state_from(checkpoint.state());
    trainer.load(checkpoint, checkpoint.state().at("optimizer_steps").get<int64_t>());
    log::info("resumed from {} at step {}", resume->string(), state.step);
  } else {
    log::info("starting from {}", init_dir.string());
  }
  std::optional<model::Transformer> reference;
  if (rl.kl_coef > 0) {  // frozen, sharded like the policy
    reference = checkpoint::load_model(init_dir, runtime.kernels);
    (*reference)->to(runtime.device);
    distributed::parallelize(**reference, *mesh, full_logits_plan());
    (*reference)->eval();
    for (auto& p : (*reference)->parameters()) p.set_requires_grad(false);
  }
  if (mesh->world_size() > 1) {
    log::info("mesh: {} ranks = dp {} x tp {}, ZeRO-{}, {} backend; prompts split over dp", mesh->world_size(),
              mesh->dp, mesh->tp, config.parallel.zero, mesh->world->backend());
  }
  log::info("model: {:.3f}M parameters from {}; task {} (difficulty {}), {} prompts x {} samples per step, "
            "{} update(s) per step",
            double(model::count_parameters(model_config)) / 1e6, init_dir.string(), rl.task,
            rl.difficulty > 0 ? rl.difficulty : task.default_difficulty(), rl.prompts, rl.group_size, updates_per_step);
  if (state.step >= config.train.steps) {
    log::info("nothing to do: the run is already at step {} of {}", state.step, config.train.steps);
    return;
  }

  RewardFunction rewards(task, rl.format_weight, rl.reward_command, rl.reward_timeout_s);
  RolloutCollector collector(policy, reference ? &*reference : nullptr, tokenizer, task, rewards,
                             rollout_options(config, mesh->dp_group.get()));
  auto update = update_options(config, runtime, mesh->dp_group.get());
  update.vocab_limit = tokenizer.vocab_size();
  TaskEvalOptions eval_options;
  eval_options.samples = rl.eval_samples;
  eval_options.seed = uint64_t(rl.eval_seed);
  eval_options.difficulty = int(rl.difficulty);
  eval_options.max_new_tokens = rl.max_new_tokens;
  eval_options.dp = mesh->dp_group.get();
  auto evaluate = [&](int64_t step, std::vector<std::pair<std::string, double>>& scalars) {
    if (rl.eval_samples <= 0) return;
    auto result = evaluate_task(policy, tokenizer, task, eval_options);
    policy->train();
    scalars.emplace_back("eval_accuracy", result.accuracy);
    scalars.emplace_back("eval_format_score", result.format_score);
    scalars.emplace_back("eval_length_mean", result.mean_length);
    log::info("step {}: held-out accuracy {:.3f} ({} / {} {} problems, greedy)", step, result.accuracy, result.correct,
              result.samples, rl.task);
  };

  // A fresh run logs its step-0 evaluation; a resumed one logs from the step after its checkpoint.
  RunWriters writers =
      open_run_writers(lead, run_dir, config.metrics, config.checkpoint, state.step == 0 ? 0 : state.step + 1);
  auto& metrics = writers.metrics;
  auto save_checkpoint = [&] {
    // Named by RL step; the optimizer's own count is in the state.
    save_sharded_checkpoint(*mesh->world, runtime.device, trainer, writers.checkpoint_writer(), state.step, [&](checkpoint::Checkpoint& checkpoint) {
      checkpoint.info.state = to_json(state);
      checkpoint.info.state["optimizer_steps"] = trainer.steps_done();
      checkpoint.info.state["bad_steps_total"] = trainer.bad_steps_total();
      checkpoint.info.state["layout"] = layout_json(*mesh, *layout, config.parallel.zero);
      checkpoint.info.config_yaml = saved_yaml;
      checkpoint.info.tokenizer_json = tokenizer_json;
    });
  };

  if (state.step == 0) {
    std::vector<std::pair<std::string, double>> scalars;
    evaluate(0, scalars);
    if (metrics && !scalars.empty()) metrics->log(0, scalars);
  }

  const auto started = Clock::now();
  const int64_t first_step = state.step;
  install_preemption_handlers();
  while (state.step < config.train.steps) {
    const auto step_start = Clock::now();
    auto batch = collector.collect(state.next_prompt_index);
    const double rollout_s = seconds_since(step_start);
    const auto update_start = Clock::now();
    auto stats = update_policy(trainer, policy, reference ? &*reference : nullptr, batch, update, state.step + 1);
    const double update_s = seconds_since(update_start);
    ++state.step;
    state.generated_tokens += batch.stats.generated_tokens;
    state.trained_tokens += stats.trained_tokens;

    auto scalars = step_scalars(batch.stats, stats, rollout_s, update_s, batch.global_rollouts / rl.group_size);
    scalars.emplace_back("tokens_generated", double(state.generated_tokens));
    const int64_t step = state.step;
    if ((rl.eval_interval > 0 && step % rl.eval_interval == 0) || step == config.train.steps) evaluate(step, scalars);
    if (metrics) metrics->log(step, scalars);
    if (step % config.train.log_interval == 0 || step == 1 || step == config.train.steps) {
      const double elapsed = seconds_since(started);
      const double eta = elapsed / double(step - first_step) * double(config.train.steps - step);
      log::info("step {}/{} | reward {:.3f} | acc {:.3f} | len {:.1f} | loss {:+.4f} | kl {:.2e} | gap {:.1e} | "
                "rollout {:.1f}s update {:.1f}s | ETA {}",
                step, config.train.steps, scalars[0].second, scalars[2].second, scalars[7].second, stats.policy_loss,
                scalars[15].second, stats.logprob_gap_mean, rollout_s, update_s, format_duration(eta));
    }
    if (checkpoint_after_step(step, checkpoint_due(config.checkpoint, step, config.train.steps),
                              agreed_preemption_signal(*mesh->world, runtime.device), save_checkpoint)) {
      if (metrics) metrics->flush();
      return;
    }
  }
  if (metrics) metrics->flush();
  log::info("done: {} RL steps ({} optimizer updates), {} tokens generated, {} in this process", state.step,
            trainer.steps_done(), state.generated_tokens, format_duration(seconds_since(started)));
}

}  // namespace ember::train::rl
