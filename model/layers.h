// The small building blocks of a Llama / Qwen3 decoder block: RMSNorm, rotary position embedding
// (RoPE) in the Hugging Face rotate_half layout, and the SwiGLU feed-forward network. On CPU fp32
// and CUDA fp32 / bf16 / fp16 the elementwise parts run the fused kernels of fused_kernels.h (unless
// train.fused_kernels turns them off), elsewhere composite ATen ops with the same results.
//
// Shapes: B batch, T query tokens, C = d_model, H heads, d = head_dim, F = ffn_hidden.
#pragma once

#include <utility>

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "model/model_config.h"

namespace ember::model {

/// y = x W^T (+ b): torch::nn::Linear with a virtual forward. The model only builds this plain
/// map; distributed/parallelize puts column- and row-parallel subclasses in the same slots.
class ProjectionImpl : public torch::nn::LinearImpl {
 public:
  using torch::nn::LinearImpl::LinearImpl;
  /// x W^T (+ b): at::linear, or the decode kernel for a few rows at inference on the CPU
  /// (cpu_decode_linear.h).
  virtual torch::Tensor forward(const torch::Tensor& x);
  /// Whether forward is exactly x W^T (+ b) of the whole weight, so that projections of one input
  /// may run as a single GEMM (model/fused_projections.h). A subclass whose forward does more
  /// (communication, a shard of the output) returns false.
  virtual bool plain_gemm() const { return true; }
};
TORCH_MODULE(Projection);

/// Token embedding (row lookup) that is also the tied LM head, both virtual for the same reason.
class TokenEmbeddingImpl : public torch::nn::EmbeddingImpl {
 public:
  using torch::nn::EmbeddingImpl::EmbeddingImpl;
  /// ids [B, T] int64 -> [B, T, C].
  virtual torch::Tensor forward(const torch::Tensor& ids) { return torch::nn::EmbeddingImpl::forward(ids); }
  /// Tied LM head: hidden [..., C] -> logits [..., V] = hidden W^T.
  virtual torch::Tensor attend(const torch::Tensor& hidden);
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
  torch::Tensor forward(const torch::Tensor& x);

  RMSNormOptions options;
  torch::Tensor weight;  ///< [dim]
};
TORCH_MODULE(RMSNorm);

/// cos and sin tables for RoPE at the given positions: positions [B, T] int64 ->
/// (cos, sin), each [B, 1, T, d] in `dtype`, with angle(p, i) = p * theta^(-2i/d) for i < d/2,
/// repeated once (the rotate_half layout pairs dimension i with i + d/2).
std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& positions, int64_t head_dim,
                                                      double theta, c10::ScalarType dtype);

/// x * cos + rotate_half(x) * sin with rotate_half([x1, x2]) = [-x2, x1]; x [B, H, T, d].
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

/// SwiGLU feed-forward: down_proj(silu(gate_proj(x)) * up_proj(x)), C -> F -> C, no biases.
class MLPImpl : public torch::nn::Cloneable<MLPImpl> {
 public:
  explicit MLPImpl(const ModelConfig& config);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

  ModelConfig config;
  Projection gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(MLP);

}  // namespace ember::model
