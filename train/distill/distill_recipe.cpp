// The distillation recipe (see distill_recipe.h): setup, resume, the step loop with the loss,
// metrics, evaluation and checkpoints.
//
// Distributed (parallel.dp x parallel.tp, like pretraining): student and teacher are built or
// loaded whole on every rank, then keep their tp shards; both LM heads all-gather their logits over
// tp (full_logits_plan), so the divergences, top-k and cross-entropy run on full-vocabulary rows
// (the vocabularies here are small; the student's gradient reaches each rank's slice through the
// gather's backward). Dataset rows come from the loader as dp rank dp_rank of dp (offline top-k is
// looked up by (epoch, sequence), so any layout reads the same rows); sampled prompts (onpolicy,
// seqkd) are split over dp by global prompt index with seeds of (seed, prompt index). The step's
// KD and CE token counts are summed over dp before the step, so
//   L = (1 - ce_weight) sum_ranks sum_kd D / N_kd + ce_weight sum_ranks sum_ce CE / N_ce
// with global N: the dp gradient sum is the single-process gradient. Metrics are summed over dp
// and written by rank 0; every rank writes its own slices of a checkpoint.
#include "train/distill/distill_recipe.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>

#include <ATen/TensorOperators.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/topk.h>
#include <ATen/ops/zeros.h>
#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "data/loader.h"
#include "data/tasks/registry.h"
#include "model/flops.h"
#include "model/loss.h"
#include "checkpoint/model_weights.h"
#include "checkpoint/resolve.h"
#include "checkpoint/run_files.h"
#include "train/checkpoint.h"
#include "train/distill/distill_batches.h"
#include "train/distill/teacher.h"
#include "train/metrics_log.h"
#include "train/parallel_setup.h"
#include "train/progress.h"
#include "train/preemption.h"
#include "train/runtime.h"
#include "train/sampling/task_eval.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace ember::train::distill {
namespace {

using Clock = std::chrono::steady_clock;

/// What a checkpoint carries besides weights and optimizer state.
struct RunState {
  nlohmann::json loader;
  uint64_t next_prompt_index = 0;
  int64_t tokens = 0;  ///< tokens the student trained on (counted KD or CE tokens)
  double teacher_flops = 0, student_flops = 0;
};

/// Sums over one step's micro-batches (KD and CE loss sums, top-1 agreement).
struct StepSums {
  double kd = 0, ce = 0;
  int64_t agreement = 0;
};

/// FLOPs of a model's forward over `tokens` tokens in sequences of `length`.
double forward_flops(const model::ModelConfig& config, int64_t length, int64_t tokens) {
  return model::forward_flops_per_token(config, std::max<int64_t>(1, length)) * double(tokens);
}

DivergenceOptions divergence_options(const DistillOptions& d) {
  DivergenceOptions o;
  o.kind = parse_divergence(d.divergence);
  o.beta = d.beta;
  o.temperature = d.temperature;
  o.t2_scaling = d.t2_scaling;
  o.tail = parse_tail_mode(d.tail);
  o.chunk_elements = d.chunk_elements;
  return o;
}

/// Rows per dataset micro-batch on each dp rank: batch_size = rows x accumulation x dp.
int64_t micro_batch_rows(const TrainConfig& train, int64_t dp) {
  const int64_t rows = train.micro_batch_size > 0 ? train.micro_batch_size : train.batch_size / dp;
  if (rows <= 0 || train.batch_size % (rows * dp) != 0) {
    fail_usage("train.batch_size ({}) must be a multiple of train.micro_batch_size ({}) x dp ({})", train.batch_size,
               rows, dp);
  }
  return rows;
}

}  // namespace

void run_distill(const DistillConfig& config, const std::string& resolved_yaml) {
  const auto& d = config.distill;
  const auto run_dir = fs::path(config.run.dir);
  const auto parallel = setup_parallel_run(config.train, config.parallel);
  const auto& runtime = parallel.runtime;
  const auto& mesh = parallel.mesh;
  const bool lead = parallel.lead;  // writes the run directory, metrics and checkpoints
  const int64_t dp = mesh->dp;
  const auto& task = data::tasks::find_task(d.task);
  const auto divergence = divergence_options(d);
  const int64_t schedule_steps = config.optim.schedule_steps > 0 ? config.optim.schedule_steps : config.train.steps;

  Teacher teacher(d.teacher, runtime.device, runtime.kernels);
  teacher.parallelize(*mesh);
  const auto& tokenizer = teacher.tokenizer();
  std::optional<data::Tokenizer> student_tokenizer;
  std::string student_source = "the student (model section)";
  if (!d.student_init.empty()) {
    student_source = "student checkpoint '" + checkpoint::resolve_checkpoint(d.student_init).string() + "'";
    student_tokenizer = data::Tokenizer::load(checkpoint::checkpoint_tokenizer(checkpoint::resolve_checkpoint(d.student_init)).string());
  } else if (!config.data.tokenizer.empty()) {
    student_source = "data.tokenizer '" + config.data.tokenizer + "'";
    student_tokenizer = data::Tokenizer::load(config.data.tokenizer);
  }
  const int64_t vocab = shared_vocabulary(
      {&tokenizer, teacher.config().vocab_size, "teacher checkpoint '" + teacher.checkpoint().string() + "'"},
      {student_tokenizer ? &*student_tokenizer : &tokenizer, config.model.vocab_size, student_source});

  const int64_t rows = micro_batch_rows(config.train, dp);
  // Global rows of each kind per step; sampled prompts are split over dp, dataset rows by the loader.
  const int64_t policy_rows =
      d.mode == "onpolicy" ? int64_t(std::llround(d.onpolicy_ratio * double(config.train.batch_size))) : 0;
  const int64_t dataset_rows = d.mode == "seqkd" ? 0 : config.train.batch_size - policy_rows;
  if (d.mode == "onpolicy" && dataset_rows % dp != 0) {
    fail_usage("distill.mode onpolicy: the {} dataset rows per step (train.batch_size - round(onpolicy_ratio x "
               "batch_size)) must divide by dp ({}) at layout dp {} x tp {}",
               dataset_rows, dp, mesh->dp, mesh->tp);
  }
  const int64_t sampled_prompts_per_step = d.mode == "seqkd" ? config.train.batch_size : policy_rows;
  const auto [prompt_begin, prompt_end] = shard_range(sampled_prompts_per_step, mesh->dp_rank, dp);
  std::unique_ptr<data::Loader> loader;
  if (dataset_rows > 0) {
    data::LoaderOptions o;
    o.files = config.data.train;
    o.weights = config.data.weights;
    o.seq_len = config.train.seq_len;
    o.micro_batch = d.mode == "onpolicy" ? dataset_rows / dp : rows;
    o.seed = uint64_t(config.train.seed);
    o.val_fraction = config.data.val_fraction;
    o.prefetch = int(config.data.prefetch);
    o.tokenizer_sha256 = tokenizer.sha256();
    o.rank = int(mesh->dp_rank);
    o.world = int(dp);
    loader = std::make_unique<data::Loader>(o);
  }
  std::unique_ptr<TeacherLogitsReader> stored;
  if (d.mode == "offline") {
    stored = std::make_unique<TeacherLogitsReader>(d.teacher_logits);
    stored->check_compatible(loader->state().at("data"), tokenizer.sha256(), config.train.seq_len);
    log::info("offline teacher: {} sequences of top-{} log-probs from {} ({} bytes per token)",
              stored->header().sequences, stored->header().top_k, d.teacher_logits, stored->header().bytes_per_token());
  }

  if (lead) {
    make_directories(run_dir);
    write_file_atomic(run_dir / "config.yaml", resolved_yaml);
  }
  // Every rank builds (or loads) the logical student, then keeps its tp shard.
  at::manual_seed(uint64_t(config.train.seed));
  model::Transformer student(config.model, runtime.kernels);
  student->to(runtime.device);
  const bool resuming =
      checkpoint::find_resume_checkpoint(run_dir, config.checkpoint.resume, config.checkpoint.on_corrupt == "fallback").has_value();
  if (!resuming && !d.student_init.empty()) {
    checkpoint::load_parameters(*student, checkpoint::CheckpointReader(checkpoint::resolve_checkpoint(d.student_init)));
  }
  const auto layout =
      std::make_shared<distributed::ParallelLayout>(distributed::parallelize(*student, *mesh, full_logits_plan()));
  Trainer trainer(student.ptr(), config.optim, config.train, schedule_steps,
                  TrainerParallel{mesh, layout, config.parallel.zero, config.parallel.bucket_mb,
                                  config.parallel.overlap_grad_reduce});
  RunState state;
  if (auto resume = checkpoint::find_resume_checkpoint(run_dir, config.checkpoint.resume, config.checkpoint.on_corrupt == "fallback")) {
    const checkpoint::CheckpointReader checkpoint(*resume);
    trainer.load(checkpoint, checkpoint.step());
    const auto& s = checkpoint.state();
    if (loader) loader->restore(s.at("loader"));
    state.next_prompt_index = s.value("next_prompt_index", uint64_t(0));
    state.tokens = s.value("tokens", int64_t(0));
    state.teacher_flops = s.value("teacher_flops", 0.0);
    state.student_flops = s.value("student_flops", 0.0);
    log::info("resumed from {} at step {}", resume->string(), checkpoint.step());
  }
  log::info("distill ({}, {}): teacher {:.3f}M parameters from {} -> student {:.3f}M parameters; vocabulary {}",
            d.mode, d.divergence, double(model::count_parameters(teacher.config())) / 1e6,
            teacher.checkpoint().string(), double(model::count_parameters(config.model)) / 1e6, vocab);
  if (trainer.steps_done() >= config.train.steps) {
    log::info("nothing to do: the run is already at step {} of {}", trainer.steps_done(), config.train.steps);
    return;
  }

  sampling::TaskEvalOptions eval_options;
  eval_options.samples = d.eval_samples;
  eval_options.seed = uint64_t(d.eval_seed);
  eval_options.difficulty = int(d.difficulty);
  eval_options.max_new_tokens = d.max_new_tokens;
  eval_options.dp = mesh->dp_group.get();
  SamplingOptions sampling;
  sampling.max_new_tokens = d.max_new_tokens;
  sampling.temperature = d.sample_temperature;
  sampling.difficulty = int(d.difficulty);
  sampling.seed = uint64_t(config.train.seed);
  sampling.correct_only = d.mode == "seqkd" && d.seqkd_correct_only;

  RunWriters writers = open_run_writers(lead, run_dir, config.metrics, config.checkpoint, trainer.steps_done() + 1);
  auto& metrics = writers.metrics;
  auto save_checkpoint = [&] {
    const int64_t step = trainer.steps_done();
    save_sharded_checkpoint(*mesh->world, runtime.device, trainer, writers.checkpoint_writer(), step, [&](checkpoint::Checkpoint& checkpoint) {
      checkpoint.info.state = {{"next_prompt_index", state.next_prompt_index},
                          {"tokens", state.tokens},
                          {"teacher_flops", state.teacher_flops},
                          {"student_flops", state.student_flops},
                          {"bad_steps_total", trainer.bad_steps_total()},
                          {"layout", layout_json(*mesh, *layout, config.parallel.zero)}};
      if (loader) checkpoint.info.state["loader"] = loader->state();
      checkpoint.info.config_yaml = resolved_yaml;
      checkpoint.info.tokenizer_json = teacher.tokenizer_json();
    });
  };

  const double kd_share = 1 - d.ce_weight;
  const double ce_share = d.mode == "seqkd" ? 1.0 : d.ce_weight;  // seqkd trains on cross-entropy alone
  const double student_train_per_token = model::training_flops_per_token(config.model, config.train.seq_len);
  auto last_log = Clock::now();
  int64_t tokens_since_log = 0;
  student->train();
  install_preemption_handlers();
  while (trainer.steps_done() < config.train.steps) {
    std::vector<DistillMicroBatch> micro;
    double step_teacher_flops = 0, step_student_flops = 0;
    int64_t sampled_correct = 0, sampled_prompts = 0;
    auto add_sampled = [&](SampledMicroBatch sampled, const model::ModelConfig& sampler_config, double& flops) {
      flops += forward_flops(sampler_config, sampled.longest, sampled.prompt_tokens + sampled.generated_tokens);
      sampled_correct += sampled.correct;
      sampled_prompts += sampled.prompts;
      if (sampled.batch) micro.push_back(std::move(*sampled.batch));
    };
    // This rank's sampled prompts: [prompt_begin, prompt_end) of the step's, by global index.
    uint64_t first_prompt = state.next_prompt_index + uint64_t(prompt_begin);
    const int64_t my_prompts = prompt_end - prompt_begin;
    if (policy_rows > 0 && my_prompts > 0) {
      add_sampled(sampled_micro_batch(student, tokenizer, task, my_prompts, first_prompt, sampling, true,
                                      runtime.device),
                  config.model, step_student_flops);
    }
    if (d.mode == "seqkd" && my_prompts > 0) {
      add_sampled(sampled_micro_batch(teacher.model(), tokenizer, task, my_prompts, first_prompt, sampling, false,
                                      runtime.device),
                  teacher.config(), step_teacher_flops);
    }
    state.next_prompt_index += uint64_t(sampled_prompts_per_step);
    for (int64_t got = 0; got < dataset_rows / dp; got += loader->options().micro_batch) {
      micro.push_back(dataset_micro_batch(loader->next_train(), runtime.device, config.data.mask_documents,
                                          stored.get()));
    }
    // The step's global token counts: every rank normalises by them.
    std::vector<double> counts = {0.0, 0.0};
    for (const auto& m : micro) {
      counts[0] += double(m.kd_tokens);
      counts[1] += double(m.ce_tokens);
    }
    counts = all_reduce_values(*mesh->dp_group, counts, distributed::ReduceOp::sum, runtime.device);
    const auto kd_tokens = int64_t(counts[0]), ce_tokens = int64_t(counts[1]);
    if (kd_tokens + ce_tokens == 0) {
      log::warn("step {}: no usable sequences (every teacher solution was rejected); drawing new prompts",
                trainer.steps_done() + 1);
      continue;
    }
    StepSums sums;
    auto result = trainer.step(int64_t(micro.size()), [&](int64_t index) {
      auto& m = micro[size_t(index)];
      AutocastScope autocast(runtime.bf16_autocast);
      auto logits = student->forward(m.inputs, m.doc_ids);
      auto loss = at::zeros({}, logits.options().dtype(at::kFloat));
      if (m.ce_tokens > 0 && ce_share > 0) {
        auto ce = model::cross_entropy_sum(logits, m.targets);
        sums.ce += ce.item<double>();
        loss = loss + ce * ce_share / double(ce_tokens);
      } else if (m.ce_tokens > 0) {
        sums.ce += model::cross_entropy_sum(logits.detach(), m.targets).item<double>();
      }
      if (m.kd_tokens > 0) {
        auto student_logits = logits.narrow(-1, 0, vocab).reshape({-1, vocab});
        const auto weights = m.kd_weights.reshape({-1});
        DivergenceSums kd;
        if (m.stored_topk) {
          kd = topk_divergence(student_logits, *m.stored_topk, weights, divergence);
        } else {
          auto teacher_logits = teacher.logits(m.inputs, m.doc_ids, vocab, runtime.bf16_autocast).reshape({-1, vocab});
          step_teacher_flops += forward_flops(teacher.config(), m.inputs.size(1), m.inputs.numel());
          if (d.top_k > 0) {
            auto top = at::topk(at::log_softmax(teacher_logits.to(at::kFloat), -1), std::min(d.top_k, vocab));
            kd = topk_divergence(student_logits, {std::get<1>(top), std::get<0>(top)}, weights, divergence);
          } else {
            kd = dense_divergence(student_logits, teacher_logits, weights, divergence);
          }
        }
        sums.kd += kd.loss.item<double>();
        sums.agreement += kd.agreement;
        if (kd_share > 0) loss = loss + kd.loss * kd_share / double(kd_tokens);
      }
      return loss;
    });
    for (const auto& m : micro) step_student_flops += student_train_per_token * double(m.inputs.numel());
    // Metrics of the whole step: sums over dp (the tp ranks of a dp group hold the same values).
    const auto totals = all_reduce_values(*mesh->dp_group,
                                          {sums.kd, sums.ce, double(sums.agreement), step_teacher_flops,
                                           step_student_flops, double(sampled_correct), double(sampled_prompts)},
                                          distributed::ReduceOp::sum, runtime.device);
    sums = {totals[0], totals[1], int64_t(totals[2])};
    step_teacher_flops = totals[3];
    step_student_flops = totals[4];
    sampled_correct = int64_t(totals[5]);
    sampled_prompts = int64_t(totals[6]);
    state.teacher_flops += step_teacher_flops;
    state.student_flops += step_student_flops;
    if (result.skipped) continue;
    const int64_t step = trainer.steps_done();
    state.tokens += std::max(kd_tokens, ce_tokens);
    tokens_since_log += std::max(kd_tokens, ce_tokens);

    std::vector<std::pair<std::string, double>> scalars = {
        {"loss", result.loss},
        {"kd_loss", kd_tokens > 0 ? sums.kd / double(kd_tokens) : 0.0},
        {"ce_loss", ce_tokens > 0 ? sums.ce / double(ce_tokens) : 0.0},
        {"agreement", kd_tokens > 0 ? double(sums.agreement) / double(kd_tokens) : 0.0},
        {"grad_norm", result.grad_norm},
        {"lr", result.lr},
        {"flops_teacher_step", step_teacher_flops},
        {"flops_student_step", step_student_flops},
        {"flops_teacher", state.teacher_flops},
        {"flops_student", state.student_flops},
        {"flops_total", state.teacher_flops + state.student_flops},
        {"tokens", double(state.tokens)}};
    if (sampled_prompts > 0) scalars.emplace_back("sample_accuracy", double(sampled_correct) / double(sampled_prompts));
    const bool eval_now = d.eval_samples > 0 && ((d.eval_interval > 0 && step % d.eval_interval == 0) ||
                                                 step == config.train.steps);
    if (eval_now) {
      auto eval = sampling::evaluate_task(student, tokenizer, task, eval_options);
      student->train();
      scalars.emplace_back("eval_accuracy", eval.accuracy);
      log::info("step {}: held-out accuracy {:.3f} ({} / {} {} problems, greedy)", step, eval.accuracy, eval.correct,
                eval.samples, d.task);
    }
    if (step % config.train.log_interval == 0 || step == 1 || step == config.train.steps || eval_now) {
      const double seconds = std::chrono::duration<double>(Clock::now() - last_log).count();
      scalars.emplace_back("tokens_per_s", seconds > 0 ? double(tokens_since_log) / seconds : 0.0);
      last_log = Clock::now();
      tokens_since_log = 0;
      if (metrics) metrics->log(step, scalars);
      log::info("step {}/{} | loss {:.4f} | kd {:.4f} | ce {:.4f} | agree {:.3f} | {:.0f} tok/s | FLOPs teacher "
                "{:.3g} student {:.3g}",
                step, config.train.steps, result.loss, scalars[1].second, scalars[2].second, scalars[3].second,
                scalars.back().second, state.teacher_flops, state.student_flops);
    }
    if (checkpoint_after_step(step, checkpoint_due(config.checkpoint, step, config.train.steps),
                              agreed_preemption_signal(*mesh->world, runtime.device), save_checkpoint)) {
      if (metrics) metrics->flush();
      return;
    }
  }
  if (metrics) metrics->flush();
  log::info("done: {} steps, {:.3g} FLOPs (teacher {:.3g}, student {:.3g})", trainer.steps_done(),
            state.teacher_flops + state.student_flops, state.teacher_flops, state.student_flops);
}

}  // namespace ember::train::distill
