// The shared trainer step (see trainer.h for the maths).
#include "train/trainer.h"

#include <cmath>

#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_norm.h>
#include <ATen/ops/stack.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>

#include "core/error.h"
#include "core/log.h"
#include "train/model_io.h"

namespace ember::train {
namespace {

std::vector<NamedParameter> optimizer_parameters(torch::nn::Module& model, bool decay_embeddings) {
  std::vector<NamedParameter> parameters;
  for (const auto& item : model.named_parameters()) {
    if (!item.value().requires_grad()) continue;
    parameters.push_back({item.key(), item.value(), default_weight_decay(item.key(), item.value(), decay_embeddings)});
  }
  return parameters;
}

}  // namespace

Trainer::Trainer(std::shared_ptr<torch::nn::Module> model, const OptimConfig& optim, const TrainConfig& train,
                 int64_t schedule_steps)
    : model_(std::move(model)),
      optimizer_(optimizer_parameters(*model_, optim.decay_embeddings),
                 AdamWOptions{optim.beta1, optim.beta2, optim.eps, optim.weight_decay, optim.fused}),
      schedule_{optim.schedule, optim.lr, optim.min_lr_ratio, optim.warmup_steps, schedule_steps, optim.decay_fraction},
      grad_clip_(train.grad_clip),
      max_bad_steps_(train.max_bad_steps) {}

StepResult Trainer::step(int64_t micro_batches, const MicroBatchLoss& loss_of) {
  StepResult result;
  result.lr = learning_rate(schedule_, steps_done_);
  optimizer_.zero_grad();
  at::Tensor total_loss;
  for (int64_t m = 0; m < micro_batches; ++m) {
    at::Tensor loss = loss_of(m);
    loss.backward();
    total_loss = total_loss.defined() ? total_loss + loss.detach() : loss.detach();
  }

  std::vector<at::Tensor> grads;
  for (const auto& p : optimizer_.parameters()) {
    if (p.tensor.grad().defined()) grads.push_back(p.tensor.grad());
  }
  at::Tensor grad_norm = grads.empty() ? at::zeros({}, total_loss.options())
                                       : at::stack(at::_foreach_norm(grads, 2.0)).norm(2.0);
  // One host sync per step: the loss and the norm decide whether the update is safe.
  auto host = at::stack({total_loss.to(at::kFloat), grad_norm.to(at::kFloat)}).to(at::kCPU);
  result.loss = host[0].item<float>();
  result.grad_norm = host[1].item<float>();

  if (!std::isfinite(result.loss) || !std::isfinite(result.grad_norm)) {
    result.skipped = true;
    ++bad_steps_total_;
    optimizer_.zero_grad();
    if (++bad_steps_in_a_row_ >= max_bad_steps_) {
      fail("stopping: {} consecutive steps had a non-finite loss or gradient norm (last loss {}, grad norm {}); "
           "the last checkpoint is intact. Lower optim.lr or check the data",
           bad_steps_in_a_row_, result.loss, result.grad_norm);
    }
    log::warn("step {}: non-finite loss {} / grad norm {}; update skipped ({} in a row)", steps_done_ + 1,
              result.loss, result.grad_norm, bad_steps_in_a_row_);
    return result;
  }
  bad_steps_in_a_row_ = 0;
  if (grad_clip_ > 0 && result.grad_norm > grad_clip_) {
    c10::NoGradGuard no_grad;
    at::_foreach_mul_(grads, grad_clip_ / (result.grad_norm + 1e-6));
  }
  optimizer_.step(result.lr);
  ++steps_done_;
  return result;
}

std::map<std::string, at::Tensor> Trainer::parameters() const {
  std::map<std::string, at::Tensor> parameters;
  for (const auto& item : model_->named_parameters()) parameters[item.key()] = item.value().detach();
  return parameters;
}

void Trainer::load(const std::map<std::string, at::Tensor>& parameters,
                   const std::map<std::string, at::Tensor>& optimizer, int64_t steps_done) {
  load_parameters(*model_, parameters, "the checkpoint");
  optimizer_.load_state(optimizer, steps_done);
  steps_done_ = steps_done;
}

}  // namespace ember::train
