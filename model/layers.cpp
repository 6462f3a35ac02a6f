// RMSNorm, RoPE and the SwiGLU MLP (see layers.h).
#include "model/layers.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/rsqrt.h>
#include <ATen/ops/silu.h>

#include "model/cpu_decode_linear.h"
#include "model/fused_kernels.h"
#include "model/fused_projections.h"

namespace ember::model {

torch::Tensor ProjectionImpl::forward(const torch::Tensor& x) {
  if (cpu_decode_linear_applies(x, weight, bias)) return cpu_decode_linear(x, weight, bias);
  return torch::nn::LinearImpl::forward(x);
}

torch::Tensor TokenEmbeddingImpl::attend(const torch::Tensor& hidden) {
  if (cpu_decode_linear_applies(hidden, weight)) return cpu_decode_linear(hidden, weight);
  return at::matmul(hidden, weight.t());
}

RMSNormImpl::RMSNormImpl(RMSNormOptions options_) : options(std::move(options_)) { reset(); }

void RMSNormImpl::reset() { weight = register_parameter("weight", at::ones({options.dim()})); }

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  if (fused_rms_norm_applies(x, weight)) return fused_rms_norm(x, weight, options.eps());
  auto x32 = x.to(at::kFloat);
  auto normed = x32 * at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + options.eps());
  return weight * normed.to(x.scalar_type());
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

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  if (fused_rope_applies(x, cos)) return fused_rope(x, cos, sin);
  int64_t half = x.size(-1) / 2;
  auto rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos + rotated * sin;
}

MLPImpl::MLPImpl(const ModelConfig& config_) : config(config_) { reset(); }

void MLPImpl::reset() {
  auto linear = [](int64_t in, int64_t out) { return Projection(torch::nn::LinearOptions(in, out).bias(false)); };
  gate_proj = register_module("gate_proj", linear(config.d_model, config.ffn_hidden));
  up_proj = register_module("up_proj", linear(config.d_model, config.ffn_hidden));
  down_proj = register_module("down_proj", linear(config.ffn_hidden, config.d_model));
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x) {
  if (fused_projections_apply(x, {gate_proj.get(), up_proj.get()})) {
    return down_proj->forward(fused_swiglu_packed(fused_projection(x, {gate_proj.get(), up_proj.get()})));
  }
  auto gate = gate_proj->forward(x), up = up_proj->forward(x);
  if (fused_swiglu_applies(gate, up)) return down_proj->forward(fused_swiglu(gate, up));
  return down_proj->forward(at::silu(gate) * up);
}

}  // namespace ember::model
