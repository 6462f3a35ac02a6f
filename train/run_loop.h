// The frame every training recipe runs on (pretrain, rl, distill and those to come). The loop owns
// what all of them do; a recipe (the Recipe interface below) supplies only what differs.
//
//   setup_parallel_run                        launch environment, device, threads, dp x tp mesh
//   lock run.dir (lead)                       one writer per run directory (run_dir.h)
//   recipe.prepare                            open and check data, tokenizers, init checkpoints
//   find + check the resume checkpoint        same model, same lr schedule, no silent rewind
//   recipe.build -> parallelize -> Trainer    the trained model with the recipe's ParallelPlan
//   restore                                   trainer, RNG, totals, the recipe's state
//   -- every check has passed: only now is anything written --
//   rewind, config.yaml, metrics + TensorBoard + checkpoint writers, peak FLOP/s
//   loop { recipe.step -> named scalars reduced over the log interval (scalars.h) -> evaluation
//          -> metrics.jsonl + console line (progress.h) -> checkpoint on interval, end, preemption }
//   summary
//
// Every recipe logs the same run-level scalars through the one progress path: tokens_per_s and
// mfu (over the steps' own time: evaluations and saves excluded), flops_total (and each kind of
// work apart when a step reports several, e.g. flops_rollout / flops_update), tokens (trained on),
// and on several ranks comm_<collective>_bytes / _calls per step. Non-finite and spiking losses
// are the Trainer's guard (trainer.h); its window is saved with every checkpoint.
//
// Steps: the loop counts recipe steps (a checkpoint is named by it); a recipe step may take
// several optimizer updates (RL: epochs x minibatches), and the lr schedule spans
// train.steps x updates_per_step() updates. Rank 0 (the lead) alone writes; every rank runs the
// loop and the collectives in it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "distributed/parallelize.h"
#include "model/model_config.h"
#include "model/transformer.h"
#include "train/config.h"
#include "train/parallel_setup.h"
#include "train/progress.h"
#include "train/scalars.h"
#include "train/trainer.h"

namespace ember::train {

/// The model a recipe trains, at full size on this rank, and how to split it over tp.
struct BuiltModel {
  model::Transformer model;
  distributed::ParallelPlan plan;
};

/// What one recipe step did.
struct StepReport {
  /// false: no update was made (the trainer skipped a non-finite step, or nothing was usable);
  /// the loop runs the step again. Its work still counts in FLOPs and time.
  bool trained = true;
  Scalars scalars;     ///< the step's own metrics (loss, lr, grad_norm, ...), by name
  int64_t tokens = 0;  ///< tokens the update trained on, over every dp rank
  /// The step's FLOPs over every rank, by kind of work ("flops_teacher", "flops_student", ...).
  std::vector<std::pair<std::string, double>> flops;
};

/// What a recipe supplies to the loop. Calls come in the order of the top comment.
class Recipe {
 public:
  virtual ~Recipe() = default;

  /// Opens and checks what the recipe reads (data, tokenizers, teacher, init checkpoint) on this
  /// rank of `run`. Must not write anything.
  virtual void prepare(const ParallelRun& run) = 0;
  /// The architecture build() makes: a resumed checkpoint's must equal it.
  virtual model::ModelConfig model_config() const = 0;
  /// Optimizer updates per recipe step (scales the lr schedule).
  virtual int64_t updates_per_step() const { return 1; }
  /// The resolved config saved as run.dir/config.yaml and in every checkpoint.
  virtual std::string saved_config() const = 0;
  /// tokenizer.json contents saved in every checkpoint.
  virtual std::string tokenizer_json() const = 0;

  /// The trained model (weights from the seed or an init checkpoint; `resuming`: a checkpoint
  /// will overwrite them).
  virtual BuiltModel build(bool resuming) = 0;
  /// The model is parallelised (`layout`) and `trainer` exists: build what uses them.
  virtual void attach(Trainer& trainer, const distributed::ParallelLayout& layout) = 0;

  /// The recipe's part of a checkpoint's state (data cursor, prompt index, ...), and its restore.
  virtual nlohmann::json state() const { return nlohmann::json::object(); }
  virtual void restore(const nlohmann::json& state) { (void)state; }

  /// Runs recipe step `step` (1-based).
  virtual StepReport step(int64_t step) = 0;
  /// Whether to evaluate after step `step`; step 0 is before training (a fresh run only).
  virtual bool evaluation_due(int64_t step) const = 0;
  /// Adds the evaluation's named scalars for step `step`.
  virtual void evaluate(int64_t step, Scalars& scalars) = 0;
  /// true: every step gets a metrics.jsonl line (RL: few, costly, noisy steps); false: the log
  /// interval's steps share one line of reduced scalars.
  virtual bool log_every_step() const { return false; }
  /// The recipe's fields of the console line, picked by name.
  virtual std::vector<ConsoleField> console_fields() const = 0;
  /// Appended to the final "done:" line (e.g. ", validation loss 2.1").
  virtual std::string summary() const { return {}; }
};

/// Runs `recipe` to completion, or until a preemption signal (after a checkpoint), with the
/// sections every recipe shares. Throws ember::Error (UsageError for refused configs) after
/// keeping complete checkpoints.
void run_recipe(const RecipeCommon& config, Recipe& recipe);

}  // namespace ember::train
