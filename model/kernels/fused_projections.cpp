// Fused q/k/v and gate/up projections (see fused_projections.h).
#include "model/kernels/fused_projections.h"

#include <vector>

#include <ATen/autocast_mode.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/linear.h>

namespace ember::model::kernels {

bool fused_projections_apply(const KernelPolicy& policy, const at::Tensor& x,
                             std::initializer_list<const ProjectionImpl*> projections) {
  if (!policy.fuses_projections() || !x.is_cuda()) return false;
  const bool biased = (*projections.begin())->bias.defined();
  for (const auto* projection : projections) {
    if (!projection->plain_gemm()) return false;
    if (projection->weight.size(1) != x.size(-1) || projection->bias.defined() != biased) return false;
  }
  return true;
}

at::Tensor fused_projection(const at::Tensor& x, std::initializer_list<const ProjectionImpl*> projections) {
  // Under autocast each weight's cast is cached for the autocast scope (one cast per weight, as the
  // separate linears would make), and the concatenation is of the cast copies.
  const auto device = x.device().type();
  const bool autocast = at::autocast::is_autocast_enabled(device);
  auto cast = [&](const at::Tensor& t) {
    return autocast ? at::autocast::cached_cast(at::autocast::get_autocast_dtype(device), t, device) : t;
  };
  std::vector<at::Tensor> weights, biases;
  for (const auto* projection : projections) {
    weights.push_back(cast(projection->weight));
    if (projection->bias.defined()) biases.push_back(cast(projection->bias));
  }
  const auto bias = biases.empty() ? std::optional<at::Tensor>() : std::optional<at::Tensor>(at::cat(biases));
  return at::linear(x, at::cat(weights), bias);
}

}  // namespace ember::model::kernels
