// The trainer core every recipe shares: one optimizer step from a set of micro-batches, on one
// process or on a dp x tp mesh of ranks.
//
//   for each micro-batch m:   loss_m = sum of per-token losses in m / N_global
//                             backward(loss_m)            (gradients accumulate; no communication)
//   g      <- sum_tp g  for tp-partial gradients (QK-norms; norms under sequence parallelism)
//   g      <- sum_dp g                          (bucketed all-reduce, or ZeRO-1 reduce-scatter)
//             the all-reduce's buckets launch during the last micro-batch's backward as their
//             gradients become final (parallel.overlap_grad_reduce; see distributed/grad_sync.h)
//   ||g||  of the logical model;  loss <- sum_dp loss   (every rank takes the same skip decision)
//   if loss or ||g|| is not finite, or the loss spikes (loss_spike_guard.h): skip the update, count a
//   bad step (stop after max_bad_steps in a row)
//   clip:  g <- g * min(1, clip / ||g||)
//   AdamW step with lr(step)                    (ZeRO-1: on this rank's slice, then all-gather)
//
// Dividing each micro-batch's summed loss by the global token count N_global (over every dp rank
// and micro-batch, not the micro-batch's own count) makes the summed gradient the gradient of the
// global batch, so the step does not depend on how the batch is split into micro-batches and
// ranks. Recipes supply the loss of a micro-batch; the trainer owns the rest. With the default
// TrainerParallel (one process) every collective is a no-op.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <ATen/Tensor.h>
#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

#include "checkpoint/reader.h"
#include "checkpoint/shard_file.h"

#include "train/adamw.h"
#include "train/config.h"
#include "train/loss_spike_guard.h"
#include "train/schedule.h"

namespace ember::distributed {
class DataParallelGrads;
class Zero1;
class Mesh;
struct ParallelLayout;
}  // namespace ember::distributed

namespace ember::train {

struct StepResult {
  double loss = 0;       ///< mean per-token loss of the global batch (sum over micro-batches and dp)
  double grad_norm = 0;  ///< of the logical model, before clipping
  double lr = 0;
  bool skipped = false;  ///< non-finite loss or gradient: no update was made
};

/// Returns the micro-batch's loss already divided by the global token count (a scalar tensor).
using MicroBatchLoss = std::function<at::Tensor(int64_t micro_batch)>;

/// Where the trainer's model lives: the defaults are one process.
struct TrainerParallel {
  std::shared_ptr<const distributed::Mesh> mesh;              ///< null: one process
  std::shared_ptr<const distributed::ParallelLayout> layout;  ///< parallelize()'s; null: replicated
  int64_t zero = 0;                                           ///< parallel.zero
  double bucket_mb = 25;                                      ///< parallel.bucket_mb
  bool overlap_grad_reduce = true;                            ///< parallel.overlap_grad_reduce
};

class Trainer {
 public:
  Trainer(std::shared_ptr<torch::nn::Module> model, const OptimConfig& optim, const TrainConfig& train,
          int64_t schedule_steps, TrainerParallel parallel = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// Runs forward/backward over `micro_batches` and one optimizer step (a collective over the mesh:
  /// every rank calls it with its own micro-batches, possibly none). Throws ember::Error when
  /// train.max_bad_steps consecutive steps were non-finite.
  StepResult step(int64_t micro_batches, const MicroBatchLoss& loss_of);

  /// Optimizer steps completed (the step number of the last update).
  int64_t steps_done() const { return steps_done_; }
  int64_t bad_steps_total() const { return bad_steps_total_; }
  /// The loss-spike guard's window (saved in checkpoints so a resumed run decides the same way).
  LossSpikeGuard& spike_guard() { return spike_guard_; }

  /// This rank's parameters by canonical name (tp shards when tensor-parallel).
  std::map<std::string, at::Tensor> parameters() const;
  /// This rank's optimizer state (ZeRO-1 slices when sharded); on one process the logical state.
  std::map<std::string, at::Tensor> optimizer_state() const { return optimizer_.state(); }
  /// The slices of the logical state this rank writes to a checkpoint, viewing the live tensors
  /// (no communication, no copies): its tp shard of every parameter when it is dp rank 0 (a
  /// replicated parameter from tp rank 0 only); the AdamW moments as its ZeRO-1 pieces (flat
  /// ranges of the tp-local tensor; a replicated parameter's from tp rank 0 only), or without
  /// ZeRO as dp rank 0's tp shards. Together the ranks' slices cover every tensor once.
  std::vector<checkpoint::ShardSource> checkpoint_shards() const;
  /// {dp, tp, zero}: the layout a checkpoint records.
  nlohmann::json checkpoint_layout() const;
  /// Restores parameters, optimizer state and the step counter (`steps_done` optimizer steps) from
  /// a checkpoint of any layout: each rank reads only its tp shard and ZeRO-1 pieces, one tensor at
  /// a time. Throws
  /// ember::Error naming the tensors when the checkpoint lacks one the model needs, holds
  /// parameters (or their moments) the model does not have, or a shape differs.
  void load(const checkpoint::CheckpointReader& reader, int64_t steps_done);

 private:
  /// Step 2 of the top comment; returns the gradients the optimizer reads, by parameter name.
  std::vector<std::pair<std::string, at::Tensor>> synchronise_gradients();
  /// ||g|| of the logical model from the gradients synchronise_gradients() returned.
  at::Tensor gradient_norm(const std::vector<std::pair<std::string, at::Tensor>>& grads,
                           const at::TensorOptions& options) const;

  std::shared_ptr<torch::nn::Module> model_;
  std::shared_ptr<const distributed::Mesh> mesh_;
  std::shared_ptr<const distributed::ParallelLayout> layout_;
  std::vector<std::pair<std::string, at::Tensor>> named_parameters_;  ///< trainable, registration order
  std::unique_ptr<distributed::Zero1> zero_;                 ///< parallel.zero = 1
  std::unique_ptr<distributed::DataParallelGrads> dp_grads_;  ///< otherwise
  AdamW optimizer_;
  ScheduleOptions schedule_;
  double grad_clip_;
  int64_t max_bad_steps_;
  int64_t steps_done_ = 0;
  int64_t bad_steps_in_a_row_ = 0;
  int64_t bad_steps_total_ = 0;
  LossSpikeGuard spike_guard_;
};

}  // namespace ember::train
