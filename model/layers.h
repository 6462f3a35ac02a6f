// The small building blocks of a Llama / Qwen3 decoder block: RMSNorm, rotary position embedding
// (RoPE) in the Hugging Face rotate_half layout, and the SwiGLU feed-forward network; plus the
// projection and embedding slots that distributed/ fills with tensor-parallel versions. Each forward
// takes the kernel policy (kernels/kernel_policy.h): where it allows a fast kernel of kernels/ and
// the kernel takes the operands (CPU fp32 and CUDA fp32 / bf16 / fp16 for the elementwise parts) it
// runs, elsewhere the reference op of kernels/reference_ops.h, with the same results.
//
// Shapes: B batch, T query tokens, C = d_model, H heads, d = head_dim, F = ffn_hidden.
#pragma once

#include <utility>

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "model/kernels/kernel_policy.h"
#include "model/model_config.h"

namespace ember::model {

/// y = x W^T (+ b): torch::nn::Linear with a virtual forward. The model only builds this plain
/// map; distributed/parallelize puts column- and row-parallel subclasses in the same slots.
class ProjectionImpl : public torch::nn::LinearImpl {
 public:
  using torch::nn::LinearImpl::LinearImpl;
  /// x W^T (+ b) through at::linear; subclasses replace it (communication, a shard of the weight).
  virtual torch::Tensor forward(const torch::Tensor& x) { return torch::nn::LinearImpl::forward(x); }
  /// Whether forward is exactly x W^T (+ b) of the whole weight, so that a kernel may stand in for
  /// it: the decode kernel (project) or one GEMM for several projections of one input
  /// (kernels/fused_projections.h). True for ProjectionImpl itself only: a kernel bypasses
  /// forward, so a subclass keeps its own unless it overrides this to say it is plain too.
  virtual bool plain_gemm() const;
  /// What the layers call: the decode kernel (kernels/cpu_decode_linear.h) for a few rows at
  /// inference on the CPU when the policy allows it and the slot is a plain GEMM, forward otherwise.
  torch::Tensor project(const torch::Tensor& x, const kernels::KernelPolicy& policy);
};
TORCH_MODULE(Projection);

/// Token embedding (row lookup) that is also the tied LM head, both virtual for the same reason.
class TokenEmbeddingImpl : public torch::nn::EmbeddingImpl {
 public:
  using torch::nn::EmbeddingImpl::EmbeddingImpl;
  /// ids [B, T] int64 -> [B, T, C].
  virtual torch::Tensor forward(const torch::Tensor& ids) { return torch::nn::EmbeddingImpl::forward(ids); }
  /// Tied LM head: hidden [..., C] -> logits [..., V] = hidden W^T (at::matmul).
  virtual torch::Tensor attend(const torch::Tensor& hidden);
  /// Whether attend is exactly hidden W^T of the whole table (as ProjectionImpl::plain_gemm: true
  /// for TokenEmbeddingImpl itself only).
  virtual bool plain_gemm() const;
  /// The tied LM head as the model calls it: the decode kernel when the policy allows it and the
  /// slot is plain (as ProjectionImpl::project), attend otherwise.
  torch::Tensor attend_logits(const torch::Tensor& hidden, const kernels::KernelPolicy& policy);
};
TORCH_MODULE(TokenEmbedding);

struct RMSNormOptions {
  RMSNormOptions(int64_t dim, double eps) : dim_(dim), eps_(eps) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(double, eps);
};

/// y = weight * x / sqrt(mean(x^2 over the last dim) + eps), computed in fp32 and cast back to
/// the input dtype before the weight (as Hugging Face's LlamaRMSNorm). `weight` starts at 1.
class RMSNormImpl : public torch::nn::Cloneable<RMSNormImpl> {
 public:
  explicit RMSNormImpl(RMSNormOptions options);
  void reset() override;
  /// The fused kernel where the policy allows it and it takes x, reference_rms_norm otherwise.
  torch::Tensor forward(const torch::Tensor& x, const kernels::KernelPolicy& policy);

  RMSNormOptions options;
  torch::Tensor weight;  ///< [dim]
};
TORCH_MODULE(RMSNorm);

/// cos and sin tables for RoPE at the given positions: positions [B, T] int64 ->
/// (cos, sin), each [B, 1, T, d] in `dtype`, with angle(p, i) = p * theta^(-2i/d) for i < d/2,
/// repeated once (the rotate_half layout pairs dimension i with i + d/2).
std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& positions, int64_t head_dim,
                                                      double theta, c10::ScalarType dtype);

/// x * cos + rotate_half(x) * sin with rotate_half([x1, x2]) = [-x2, x1]; x [B, H, T, d]: the
/// fused kernel where the policy allows it and it takes the operands, reference_rope otherwise.
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                         const kernels::KernelPolicy& policy);

/// SwiGLU feed-forward: down_proj(silu(gate_proj(x)) * up_proj(x)), C -> F -> C, no biases.
class MLPImpl : public torch::nn::Cloneable<MLPImpl> {
 public:
  explicit MLPImpl(const ModelConfig& config);
  void reset() override;
  /// x [..., C] -> [..., C]; gate and up as one GEMM and the packed SwiGLU kernel where the policy
  /// fuses projections (CUDA, plain slots), else each projection and the SwiGLU kernel or reference.
  torch::Tensor forward(const torch::Tensor& x, const kernels::KernelPolicy& policy);

  ModelConfig config;
  Projection gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(MLP);

}  // namespace ember::model
