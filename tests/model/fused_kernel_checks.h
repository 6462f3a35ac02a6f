// What the fused-path tests (CPU and CUDA kernels, projections, LM head + loss) share: a scoped
// switch for the fused kernels, a relative error in double, and one forward + backward run of a
// function with the switch on or off, which the tests then compare (the fused autograd node by name,
// values by relative error).
#pragma once

#include <string>

#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <torch/csrc/autograd/function.h>

#include "model/fused_kernels.h"

namespace ember::fused_checks {

/// Sets a process-wide switch (its getter and setter) for a scope, and restores it on exit.
template <bool (*Get)(), void (*Set)(bool)>
class ScopedSwitch {
 public:
  explicit ScopedSwitch(bool enabled) : previous_(Get()) { Set(enabled); }
  ~ScopedSwitch() { Set(previous_); }
  ScopedSwitch(const ScopedSwitch&) = delete;
  ScopedSwitch& operator=(const ScopedSwitch&) = delete;

 private:
  bool previous_;
};

/// The fused-kernel switch (model/fused_kernels.h) for a scope.
using FusedSwitch = ScopedSwitch<model::fused_kernels_enabled, model::set_fused_kernels_enabled>;

/// |a - b|_max / |b|_max, in double on the CPU (inputs on any device).
inline double relative_error(const at::Tensor& a, const at::Tensor& b) {
  auto bd = b.to(at::kCPU, at::kDouble);
  return (a.to(at::kCPU, at::kDouble) - bd).abs().max().item<double>() / (bd.abs().max().item<double>() + 1e-30);
}

/// The output, the gradients and the name of the output's autograd node of one run.
struct Run {
  at::Tensor y, dx, dparam;
  std::string grad_fn;
};

/// y, param = f(x) on a fresh leaf copy of x with the switch at `fused`; the gradients of
/// sum(y * dy) for x and (when defined) param.
template <typename F>
Run run(bool fused, const at::Tensor& x_in, const at::Tensor& dy, const F& f) {
  FusedSwitch scope(fused);
  auto x = x_in.detach().clone().requires_grad_(true);
  auto [y, param] = f(x);
  y.backward(dy);
  return {y.detach(), x.grad(), param.defined() ? param.grad() : at::Tensor(), y.grad_fn()->name()};
}

}  // namespace ember::fused_checks
