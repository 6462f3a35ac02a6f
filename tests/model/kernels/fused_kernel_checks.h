// What the fused-path tests (CPU and CUDA kernels, projections, LM head + loss) share: the two
// kernel policies they compare (fused, and the reference ops), a relative error in double, and one
// forward + backward run of a function under a policy, whose runs the tests then compare (the fused
// autograd node by name, values by relative error), and the names of every autograd node behind a
// tensor (which kernels a whole model ran).
#pragma once

#include <set>
#include <string>
#include <vector>

#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <torch/csrc/autograd/function.h>

#include "model/kernels/kernel_policy.h"

namespace ember::fused_checks {

/// Every fast kernel allowed (the default), and none: the reference ops.
inline const model::kernels::KernelPolicy kFused{};
inline const model::kernels::KernelPolicy kReference = model::kernels::KernelPolicy::reference();

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

/// y, param = f(x, policy) on a fresh leaf copy of x; the gradients of sum(y * dy) for x and (when
/// defined) param.
template <typename F>
Run run(const model::kernels::KernelPolicy& policy, const at::Tensor& x_in, const at::Tensor& dy, const F& f) {
  auto x = x_in.detach().clone().requires_grad_(true);
  auto [y, param] = f(x, policy);
  y.backward(dy);
  return {y.detach(), x.grad(), param.defined() ? param.grad() : at::Tensor(), y.grad_fn()->name()};
}

/// The names of every autograd node that y's value came through.
inline std::set<std::string> graph_nodes(const at::Tensor& y) {
  std::set<std::string> names;
  std::set<const torch::autograd::Node*> seen;
  std::vector<torch::autograd::Node*> pending{y.grad_fn().get()};
  while (!pending.empty()) {
    auto* node = pending.back();
    pending.pop_back();
    if (node == nullptr || !seen.insert(node).second) continue;
    names.insert(node->name());
    for (const auto& edge : node->next_edges()) pending.push_back(edge.function.get());
  }
  return names;
}

/// Whether some node name contains `part` (custom Functions are named after their class).
inline bool has_node(const std::set<std::string>& names, const std::string& part) {
  for (const auto& name : names) {
    if (name.find(part) != std::string::npos) return true;
  }
  return false;
}

}  // namespace ember::fused_checks
