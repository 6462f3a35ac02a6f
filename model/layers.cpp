// RMSNorm, RoPE and the SwiGLU MLP (see layers.h).
#include "model/layers.h"

#include <typeinfo>

#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/pow.h>

#include "model/kernels/cpu_decode_linear.h"
#include "model/kernels/fused_kernels.h"
#include "model/kernels/fused_projections.h"
#include "model/kernels/reference_ops.h"

namespace ember::model {

bool ProjectionImpl::plain_gemm() const { return typeid(*this) == typeid(ProjectionImpl); }

torch::Tensor ProjectionImpl::project(const torch::Tensor& x, const kernels::KernelPolicy& policy) {
  if (plain_gemm() && kernels::cpu_decode_linear_applies(policy, x, weight, bias)) {
    return kernels::cpu_decode_linear(x, weight, bias);
  }
  return forward(x);
}

torch::Tensor TokenEmbeddingImpl::attend(const torch::Tensor& hidden) { return at::matmul(hidden, weight.t()); }

bool TokenEmbeddingImpl::plain_gemm() const { return typeid(*this) == typeid(TokenEmbeddingImpl); }

torch::Tensor TokenEmbeddingImpl::attend_logits(const torch::Tensor& hidden, const kernels::KernelPolicy& policy) {
  if (plain_gemm() && kernels::cpu_decode_linear_applies(policy, hidden, weight)) {
    return kernels::cpu_decode_linear(hidden, weight);
  }
  return attend(hidden);
}

RMSNormImpl::RMSNormImpl(RMSNormOptions options_) : options(std::move(options_)) { reset(); }

void RMSNormImpl::reset() { weight = register_parameter("weight", at::ones({options.dim()})); }

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x, const kernels::KernelPolicy& policy) {
  if (kernels::fused_rms_norm_applies(policy, x, weight)) return kernels::fused_rms_norm(x, weight, options.eps());
  return kernels::reference_rms_norm(x, weight, options.eps());
}

std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& positions, int64_t head_dim,
                                                      double theta, c10::ScalarType dtype) {
  auto float_options = positions.options().dtype(at::kFloat);
  auto exponents = at::arange(0, head_dim, 2, positions.options().dtype(at::kLong)).to(at::kFloat) / double(head_dim);
  auto inv_freq = 1.0 / at::pow(theta, exponents).to(float_options);                  // [d/2]
  auto angles = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;                    // [B, T, d/2]
  auto doubled = at::cat({angles, angles}, -1).unsqueeze(1);                            // [B, 1, T, d]
  return {doubled.cos().to(dtype), doubled.sin().to(dtype)};
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                         const kernels::KernelPolicy& policy) {
  if (kernels::fused_rope_applies(policy, x, cos)) return kernels::fused_rope(x, cos, sin);
  return kernels::reference_rope(x, cos, sin);
}

MLPImpl::MLPImpl(const ModelConfig& config_) : config(config_) { reset(); }

void MLPImpl::reset() {
  auto linear = [](int64_t in, int64_t out) { return Projection(torch::nn::LinearOptions(in, out).bias(false)); };
  gate_proj = register_module("gate_proj", linear(config.d_model, config.ffn_hidden));
  up_proj = register_module("up_proj", linear(config.d_model, config.ffn_hidden));
  down_proj = register_module("down_proj", linear(config.ffn_hidden, config.d_model));
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x, const kernels::KernelPolicy& policy) {
  if (kernels::fused_projections_apply(policy, x, {gate_proj.get(), up_proj.get()})) {
    auto gate_up = kernels::fused_projection(x, {gate_proj.get(), up_proj.get()});
    return down_proj->project(kernels::fused_swiglu_packed(gate_up), policy);
  }
  auto gate = gate_proj->project(x, policy), up = up_proj->project(x, policy);
  auto hidden = kernels::fused_swiglu_applies(policy, gate, up) ? kernels::fused_swiglu(gate, up)
                                                                 : kernels::reference_swiglu(gate, up);
  return down_proj->project(hidden, policy);
}

}  // namespace ember::model
