// The trainer core every recipe shares: one optimizer step from a set of micro-batches.
//
//   for each micro-batch m:   loss_m = sum of per-token losses in m / N_global
//                             backward(loss_m)            (gradients accumulate)
//   g      = all gradients;   ||g|| = sqrt(sum g^2)
//   if loss or ||g|| is not finite: skip the update, count a bad step (stop after max_bad_steps)
//   clip:  g <- g * min(1, clip / ||g||)
//   AdamW step with lr(step)
//
// Dividing each micro-batch's summed loss by the global token count N_global (not by the
// micro-batch's own count) makes the step independent of how the batch is split into
// micro-batches and ranks. Recipes supply the loss of a micro-batch; the trainer owns the rest.
#pragma once

#include <functional>
#include <memory>

#include <ATen/Tensor.h>
#include <torch/nn/module.h>

#include "train/adamw.h"
#include "train/config.h"
#include "train/schedule.h"

namespace ember::train {

struct StepResult {
  double loss = 0;       ///< mean per-token loss of the step (sum over micro-batches)
  double grad_norm = 0;  ///< before clipping
  double lr = 0;
  bool skipped = false;  ///< non-finite loss or gradient: no update was made
};

/// Returns the micro-batch's loss already divided by the global token count (a scalar tensor).
using MicroBatchLoss = std::function<at::Tensor(int64_t micro_batch)>;

class Trainer {
 public:
  Trainer(std::shared_ptr<torch::nn::Module> model, const OptimConfig& optim, const TrainConfig& train,
          int64_t schedule_steps);

  /// Runs forward/backward over `micro_batches` and one optimizer step. Throws ember::Error when
  /// train.max_bad_steps consecutive steps were non-finite.
  StepResult step(int64_t micro_batches, const MicroBatchLoss& loss_of);

  /// Optimizer steps completed (the step number of the last update).
  int64_t steps_done() const { return steps_done_; }
  int64_t bad_steps_total() const { return bad_steps_total_; }

  /// Parameters by canonical name.
  std::map<std::string, at::Tensor> parameters() const;
  /// Restores parameters, optimizer state and the step counter from a checkpoint's tensors.
  void load(const std::map<std::string, at::Tensor>& parameters, const std::map<std::string, at::Tensor>& optimizer,
            int64_t steps_done);
  std::map<std::string, at::Tensor> optimizer_state() const { return optimizer_.state(); }

 private:
  std::shared_ptr<torch::nn::Module> model_;
  AdamW optimizer_;
  ScheduleOptions schedule_;
  double grad_clip_;
  int64_t max_bad_steps_;
  int64_t steps_done_ = 0;
  int64_t bad_steps_in_a_row_ = 0;
  int64_t bad_steps_total_ = 0;
};

}  // namespace ember::train
