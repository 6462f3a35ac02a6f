// AdamW with parameter groups, plain and fused (see adamw.h for the maths).
#include "train/adamw.h"

#include <cmath>

#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_fused_adamw.h>
#include <ATen/ops/zeros_like.h>
#include <ATen/ops/full.h>
#include <c10/core/GradMode.h>

#include <fmt/ranges.h>

#include "core/error.h"

namespace ember::train {

AdamW::AdamW(std::vector<NamedParameter> parameters, AdamWOptions options)
    : parameters_(std::move(parameters)), options_(options) {
  for (const auto& p : parameters_) {
    exp_avg_.push_back(at::zeros_like(p.tensor, at::MemoryFormat::Contiguous));
    exp_avg_sq_.push_back(at::zeros_like(p.tensor, at::MemoryFormat::Contiguous));
  }
}

void AdamW::zero_grad() {
  for (auto& p : parameters_) {
    if (p.tensor.grad().defined()) p.tensor.mutable_grad().zero_();
  }
}

void AdamW::step(double lr) {
  c10::NoGradGuard no_grad;
  ++steps_taken_;
  if (options_.fused) {
    step_fused(lr);
  } else {
    step_plain(lr);
  }
}

void AdamW::step_plain(double lr) {
  const double bias_correction1 = 1.0 - std::pow(options_.beta1, double(steps_taken_));
  const double bias_correction2 = 1.0 - std::pow(options_.beta2, double(steps_taken_));
  const double step_size = lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  for (size_t i = 0; i < parameters_.size(); ++i) {
    auto& p = parameters_[i].tensor;
    const auto& grad = p.grad();
    if (!grad.defined()) continue;
    if (parameters_[i].decay && options_.weight_decay != 0) p.mul_(1.0 - lr * options_.weight_decay);
    exp_avg_[i].lerp_(grad, 1.0 - options_.beta1);
    exp_avg_sq_[i].mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
    auto denominator = exp_avg_sq_[i].sqrt().div_(bias_correction2_sqrt).add_(options_.eps);
    p.addcdiv_(exp_avg_[i], denominator, -step_size);
  }
}

void AdamW::step_fused(double lr) {
  // One fused call per group (decay / no decay); the kernel reads steps from float tensors that
  // the caller increments first, as torch.optim.AdamW(fused=True) does.
  for (bool decay : {true, false}) {
    std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
    for (size_t i = 0; i < parameters_.size(); ++i) {
      const auto& p = parameters_[i];
      if (p.decay != decay || !p.tensor.grad().defined()) continue;
      params.push_back(p.tensor);
      grads.push_back(p.tensor.grad());
      exp_avgs.push_back(exp_avg_[i]);
      exp_avg_sqs.push_back(exp_avg_sq_[i]);
      steps.push_back(at::full({}, double(steps_taken_), p.tensor.options().dtype(at::kFloat)));
    }
    if (params.empty()) continue;
    at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps, lr, options_.beta1,
                      options_.beta2, decay ? options_.weight_decay : 0.0, options_.eps,
                      /*amsgrad=*/false, /*maximize=*/false);
  }
}

std::map<std::string, at::Tensor> AdamW::state() const {
  std::map<std::string, at::Tensor> state;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    state[parameters_[i].name + ".exp_avg"] = exp_avg_[i];
    state[parameters_[i].name + ".exp_avg_sq"] = exp_avg_sq_[i];
  }
  return state;
}

void AdamW::load_state(const std::function<at::Tensor(const std::string& key)>& read, int64_t steps_taken) {
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    for (auto [suffix, target] : {std::pair{".exp_avg", &exp_avg_[i]}, std::pair{".exp_avg_sq", &exp_avg_sq_[i]}}) {
      auto key = parameters_[i].name + suffix;
      const at::Tensor value = read(key);
      if (value.sizes() != target->sizes()) {
        fail("optimizer state '{}' has shape {} in the checkpoint but the model needs {}", key,
             fmt::join(value.sizes(), "x"), fmt::join(target->sizes(), "x"));
      }
      target->copy_(value);
    }
  }
  steps_taken_ = steps_taken;
}

bool default_weight_decay(const std::string& name, const at::Tensor& tensor, bool decay_embeddings) {
  if (tensor.dim() < 2) return false;
  if (name.find("embed_tokens") != std::string::npos) return decay_embeddings;
  return true;
}

}  // namespace ember::train
