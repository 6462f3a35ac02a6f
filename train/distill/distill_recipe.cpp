// The distillation recipe (see distill_recipe.h) on the run loop (train/run_loop.h): teacher,
// tokenizers and data, the student, one step = the micro-batches of the mode and the KD + CE loss,
// held-out task evaluation.
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
// with global N: the dp gradient sum is the single-process gradient. Metrics are summed over dp.
// FLOPs: flops_teacher (its forwards and generations) and flops_student (training, plus its own
// sampling) of every step, including steps whose update was skipped.
#include "train/distill/distill_recipe.h"

#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>

#include <ATen/TensorOperators.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/topk.h>
#include <ATen/ops/zeros.h>
#include <fmt/format.h>

#include "checkpoint/model_weights.h"
#include "checkpoint/resolve.h"
#include "checkpoint/run_files.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "data/loader.h"
#include "data/tasks/registry.h"
#include "model/flops.h"
#include "model/loss.h"
#include "train/checkpoint.h"
#include "train/distill/distill_batches.h"
#include "train/distill/teacher.h"
#include "train/parallel_setup.h"
#include "train/run_loop.h"
#include "train/runtime.h"
#include "train/sampling/task_eval.h"

namespace fs = std::filesystem;

namespace ember::train::distill {
namespace {

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

class DistillRecipe final : public Recipe {
 public:
  DistillRecipe(const DistillConfig& config, std::string resolved_yaml)
      : config_(config), d_(config.distill), resolved_yaml_(std::move(resolved_yaml)) {}

  void prepare(const ParallelRun& run) override {
    run_ = &run;
    const auto& mesh = *run.mesh;
    const int64_t dp = mesh.dp;
    task_ = &data::tasks::find_task(d_.task);
    divergence_ = divergence_options(d_);
    teacher_ = std::make_unique<Teacher>(d_.teacher, run.runtime.device, run.runtime.kernels);
    teacher_->parallelize(mesh);
    const auto& tokenizer = teacher_->tokenizer();
    std::optional<data::Tokenizer> student_tokenizer;
    std::string student_source = "the student (model section)";
    if (!d_.student_init.empty()) {
      student_source = "student checkpoint '" + checkpoint::resolve_checkpoint(d_.student_init).string() + "'";
      student_tokenizer = data::Tokenizer::load(checkpoint::checkpoint_tokenizer(checkpoint::resolve_checkpoint(d_.student_init)).string());
    } else if (!config_.data.tokenizer.empty()) {
      student_source = "data.tokenizer '" + config_.data.tokenizer + "'";
      student_tokenizer = data::Tokenizer::load(config_.data.tokenizer);
    }
    vocab_ = shared_vocabulary(
        {&tokenizer, teacher_->config().vocab_size, "teacher checkpoint '" + teacher_->checkpoint().string() + "'"},
        {student_tokenizer ? &*student_tokenizer : &tokenizer, config_.model.vocab_size, student_source});

    const int64_t rows = micro_batch_rows(config_.train, dp);
    // Global rows of each kind per step; sampled prompts are split over dp, dataset rows by the loader.
    policy_rows_ =
        d_.mode == "onpolicy" ? int64_t(std::llround(d_.onpolicy_ratio * double(config_.train.batch_size))) : 0;
    dataset_rows_ = d_.mode == "seqkd" ? 0 : config_.train.batch_size - policy_rows_;
    if (d_.mode == "onpolicy" && dataset_rows_ % dp != 0) {
      fail_usage("distill.mode onpolicy: the {} dataset rows per step (train.batch_size - round(onpolicy_ratio x "
                 "batch_size)) must divide by dp ({}) at layout dp {} x tp {}",
                 dataset_rows_, dp, mesh.dp, mesh.tp);
    }
    sampled_prompts_per_step_ = d_.mode == "seqkd" ? config_.train.batch_size : policy_rows_;
    prompt_range_ = shard_range(sampled_prompts_per_step_, mesh.dp_rank, dp);
    if (dataset_rows_ > 0) {
      data::LoaderOptions o;
      o.files = config_.data.train;
      o.weights = config_.data.weights;
      o.seq_len = config_.train.seq_len;
      o.micro_batch = d_.mode == "onpolicy" ? dataset_rows_ / dp : rows;
      o.seed = uint64_t(config_.train.seed);
      o.val_fraction = config_.data.val_fraction;
      o.prefetch = int(config_.data.prefetch);
      o.tokenizer_sha256 = tokenizer.sha256();
      o.rank = int(mesh.dp_rank);
      o.world = int(dp);
      loader_ = std::make_unique<data::Loader>(o);
    }
    if (d_.mode == "offline") {
      stored_ = std::make_unique<TeacherLogitsReader>(d_.teacher_logits);
      stored_->check_compatible(loader_->state().at("data"), tokenizer.sha256(), config_.train.seq_len);
      log::info("offline teacher: {} sequences of top-{} log-probs from {} ({} bytes per token)",
                stored_->header().sequences, stored_->header().top_k, d_.teacher_logits,
                stored_->header().bytes_per_token());
    }
    eval_options_.samples = d_.eval_samples;
    eval_options_.seed = uint64_t(d_.eval_seed);
    eval_options_.difficulty = int(d_.difficulty);
    eval_options_.max_new_tokens = d_.max_new_tokens;
    eval_options_.dp = mesh.dp_group.get();
    sampling_.max_new_tokens = d_.max_new_tokens;
    sampling_.temperature = d_.sample_temperature;
    sampling_.difficulty = int(d_.difficulty);
    sampling_.seed = uint64_t(config_.train.seed);
    sampling_.correct_only = d_.mode == "seqkd" && d_.seqkd_correct_only;
  }
  model::ModelConfig model_config() const override { return config_.model; }
  std::string saved_config() const override { return resolved_yaml_; }
  std::string tokenizer_json() const override { return teacher_->tokenizer_json(); }

  BuiltModel build(bool resuming) override {
    at::manual_seed(uint64_t(config_.train.seed));  // every rank builds the logical student alike
    student_ = model::Transformer(config_.model, run_->runtime.kernels);
    student_->to(run_->runtime.device);
    if (!resuming && !d_.student_init.empty()) {
      checkpoint::load_parameters(*student_, checkpoint::CheckpointReader(checkpoint::resolve_checkpoint(d_.student_init)));
    }
    log::info("distill ({}, {}): teacher {:.3f}M parameters from {} -> student {:.3f}M parameters; vocabulary {}",
              d_.mode, d_.divergence, double(model::count_parameters(teacher_->config())) / 1e6,
              teacher_->checkpoint().string(), double(model::count_parameters(config_.model)) / 1e6, vocab_);
    return {student_, full_logits_plan()};
  }
  void attach(Trainer& trainer, const distributed::ParallelLayout&) override {
    trainer_ = &trainer;
    student_->train();
  }

  nlohmann::json state() const override {
    nlohmann::json state = {{"next_prompt_index", next_prompt_index_}};
    if (loader_) state["loader"] = loader_->state();
    return state;
  }
  void restore(const nlohmann::json& state) override {
    if (loader_) loader_->restore(state.at("loader"));
    next_prompt_index_ = state.value("next_prompt_index", uint64_t(0));
  }

  StepReport step(int64_t step) override;

  bool evaluation_due(int64_t step) const override {
    return step > 0 && d_.eval_samples > 0 &&
           ((d_.eval_interval > 0 && step % d_.eval_interval == 0) || step == config_.train.steps);
  }
  void evaluate(int64_t step, Scalars& scalars) override {
    auto eval = sampling::evaluate_task(student_, teacher_->tokenizer(), *task_, eval_options_);
    student_->train();
    scalars.add("eval_accuracy", eval.accuracy, Reduce::last);
    log::info("step {}: held-out accuracy {:.3f} ({} / {} {} problems, greedy)", step, eval.accuracy, eval.correct,
              eval.samples, d_.task);
  }
  std::vector<ConsoleField> console_fields() const override {
    return {{"loss", "loss"}, {"kd", "kd_loss"}, {"ce", "ce_loss"}, {"agree", "agreement", "{:.3f}"},
            {"FLOPs teacher", "flops_teacher", "{:.3g}"}, {"student", "flops_student", "{:.3g}"}};
  }

 private:
  /// The step's micro-batches on this rank: sampled ones (onpolicy, seqkd) then dataset rows.
  std::vector<DistillMicroBatch> step_micro_batches(double& teacher_flops, double& student_flops,
                                                    int64_t& sampled_correct, int64_t& sampled_prompts);

  const DistillConfig& config_;
  const DistillOptions& d_;
  std::string resolved_yaml_;
  const ParallelRun* run_ = nullptr;
  const data::tasks::Task* task_ = nullptr;
  DivergenceOptions divergence_;
  std::unique_ptr<Teacher> teacher_;
  int64_t vocab_ = 0, policy_rows_ = 0, dataset_rows_ = 0, sampled_prompts_per_step_ = 0;
  std::pair<int64_t, int64_t> prompt_range_;
  std::unique_ptr<data::Loader> loader_;
  std::unique_ptr<TeacherLogitsReader> stored_;
  sampling::TaskEvalOptions eval_options_;
  SamplingOptions sampling_;
  model::Transformer student_{nullptr};
  Trainer* trainer_ = nullptr;
  uint64_t next_prompt_index_ = 0;
};

std::vector<DistillMicroBatch> DistillRecipe::step_micro_batches(double& teacher_flops, double& student_flops,
                                                                 int64_t& sampled_correct, int64_t& sampled_prompts) {
  const auto& device = run_->runtime.device;
  std::vector<DistillMicroBatch> micro;
  auto add_sampled = [&](SampledMicroBatch sampled, const model::ModelConfig& sampler_config, double& flops) {
    flops += forward_flops(sampler_config, sampled.longest, sampled.prompt_tokens + sampled.generated_tokens);
    sampled_correct += sampled.correct;
    sampled_prompts += sampled.prompts;
    if (sampled.batch) micro.push_back(std::move(*sampled.batch));
  };
  // This rank's sampled prompts: [prompt_begin, prompt_end) of the step's, by global index.
  const auto [prompt_begin, prompt_end] = prompt_range_;
  uint64_t first_prompt = next_prompt_index_ + uint64_t(prompt_begin);
  const int64_t my_prompts = prompt_end - prompt_begin;
  const auto& tokenizer = teacher_->tokenizer();
  if (policy_rows_ > 0 && my_prompts > 0) {
    add_sampled(sampled_micro_batch(student_, tokenizer, *task_, my_prompts, first_prompt, sampling_, true, device),
                config_.model, student_flops);
  }
  if (d_.mode == "seqkd" && my_prompts > 0) {
    add_sampled(sampled_micro_batch(teacher_->model(), tokenizer, *task_, my_prompts, first_prompt, sampling_, false,
                                    device),
                teacher_->config(), teacher_flops);
  }
  next_prompt_index_ += uint64_t(sampled_prompts_per_step_);
  for (int64_t got = 0; got < dataset_rows_ / run_->mesh->dp; got += loader_->options().micro_batch) {
    micro.push_back(dataset_micro_batch(loader_->next_train(), device, config_.data.mask_documents, stored_.get()));
  }
  return micro;
}

StepReport DistillRecipe::step(int64_t step) {
  const auto& mesh = *run_->mesh;
  const auto& runtime = run_->runtime;
  double step_teacher_flops = 0, step_student_flops = 0;
  int64_t sampled_correct = 0, sampled_prompts = 0;
  auto micro = step_micro_batches(step_teacher_flops, step_student_flops, sampled_correct, sampled_prompts);
  // The step's global token counts: every rank normalises by them.
  std::vector<double> counts = {0.0, 0.0};
  for (const auto& m : micro) {
    counts[0] += double(m.kd_tokens);
    counts[1] += double(m.ce_tokens);
  }
  counts = all_reduce_values(*mesh.dp_group, counts, distributed::ReduceOp::sum, runtime.device);
  const auto kd_tokens = int64_t(counts[0]), ce_tokens = int64_t(counts[1]);
  StepReport report;
  if (kd_tokens + ce_tokens == 0) {
    log::warn("step {}: no usable sequences (every teacher solution was rejected); drawing new prompts", step);
    report.trained = false;
    const auto flops = all_reduce_values(*mesh.dp_group, {step_teacher_flops, step_student_flops},
                                         distributed::ReduceOp::sum, runtime.device);
    report.flops = {{"flops_teacher", flops[0]}, {"flops_student", flops[1]}};
    return report;
  }
  const double kd_share = 1 - d_.ce_weight;
  const double ce_share = d_.mode == "seqkd" ? 1.0 : d_.ce_weight;  // seqkd trains on cross-entropy alone
  StepSums sums;
  auto result = trainer_->step(int64_t(micro.size()), [&](int64_t index) {
    auto& m = micro[size_t(index)];
    AutocastScope autocast(runtime.bf16_autocast);
    auto logits = student_->forward(m.inputs, m.doc_ids);
    auto loss = at::zeros({}, logits.options().dtype(at::kFloat));
    if (m.ce_tokens > 0 && ce_share > 0) {
      auto ce = model::cross_entropy_sum(logits, m.targets);
      sums.ce += ce.item<double>();
      loss = loss + ce * ce_share / double(ce_tokens);
    } else if (m.ce_tokens > 0) {
      sums.ce += model::cross_entropy_sum(logits.detach(), m.targets).item<double>();
    }
    if (m.kd_tokens > 0) {
      auto student_logits = logits.narrow(-1, 0, vocab_).reshape({-1, vocab_});
      const auto weights = m.kd_weights.reshape({-1});
      DivergenceSums kd;
      if (m.stored_topk) {
        kd = topk_divergence(student_logits, *m.stored_topk, weights, divergence_);
      } else {
        auto teacher_logits =
            teacher_->logits(m.inputs, m.doc_ids, vocab_, runtime.bf16_autocast).reshape({-1, vocab_});
        step_teacher_flops += forward_flops(teacher_->config(), m.inputs.size(1), m.inputs.numel());
        if (d_.top_k > 0) {
          auto top = at::topk(at::log_softmax(teacher_logits.to(at::kFloat), -1), std::min(d_.top_k, vocab_));
          kd = topk_divergence(student_logits, {std::get<1>(top), std::get<0>(top)}, weights, divergence_);
        } else {
          kd = dense_divergence(student_logits, teacher_logits, weights, divergence_);
        }
      }
      sums.kd += kd.loss.item<double>();
      sums.agreement += kd.agreement;
      if (kd_share > 0) loss = loss + kd.loss * kd_share / double(kd_tokens);
    }
    return loss;
  });
  const double student_train_per_token = model::training_flops_per_token(config_.model, config_.train.seq_len);
  for (const auto& m : micro) step_student_flops += student_train_per_token * double(m.inputs.numel());
  // Metrics of the whole step: sums over dp (the tp ranks of a dp group hold the same values).
  const auto totals = all_reduce_values(*mesh.dp_group,
                                        {sums.kd, sums.ce, double(sums.agreement), step_teacher_flops,
                                         step_student_flops, double(sampled_correct), double(sampled_prompts)},
                                        distributed::ReduceOp::sum, runtime.device);
  report.trained = !result.skipped;
  report.tokens = std::max(kd_tokens, ce_tokens);
  report.flops = {{"flops_teacher", totals[3]}, {"flops_student", totals[4]}};
  report.scalars.add("loss", result.loss)
      .add("kd_loss", kd_tokens > 0 ? totals[0] / double(kd_tokens) : 0.0)
      .add("ce_loss", ce_tokens > 0 ? totals[1] / double(ce_tokens) : 0.0)
      .add("agreement", kd_tokens > 0 ? totals[2] / double(kd_tokens) : 0.0)
      .add("grad_norm", result.grad_norm)
      .add("lr", result.lr, Reduce::last)
      .add("flops_teacher_step", totals[3])
      .add("flops_student_step", totals[4]);
  if (totals[6] > 0) report.scalars.add("sample_accuracy", totals[5] / totals[6]);
  return report;
}

}  // namespace

void run_distill(const DistillConfig& config, const std::string& resolved_yaml) {
  DistillRecipe recipe(config, resolved_yaml);
  run_recipe(config, recipe);
}

}  // namespace ember::train::distill
