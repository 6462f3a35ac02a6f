// Causal self-attention with grouped-query heads, RoPE, optional QK-norm (Qwen3) and optional
// q/k/v bias (Qwen2); plus the AttentionContext that says where each token sits (RoPE positions)
// and what it may see (causal, document or cache mask), and the ForwardContext every block of one
// forward pass reads (that, the KV cache and the kernel policy). The attention itself runs the CPU
// kernel (kernels/cpu_attention.h) where the policy allows it and it takes the operands, else
// at::scaled_dot_product_attention (kernels/reference_ops.h).
//
// Shapes: B batch, T query tokens, S key tokens (T, or the cache length), C = d_model,
// H query heads, K key/value heads (H % K == 0, query head h reads kv head h / (H / K)), d = head_dim.
//   q = x Wq^T [B,T,H*d] -> [B,H,T,d] -> q_norm -> RoPE;   k, v likewise with K heads
//   out = softmax(q k^T / sqrt(d) + mask) v -> [B,T,H*d] -> o_proj -> [B,T,C]
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "model/kernels/kernel_policy.h"
#include "model/kv_cache.h"
#include "model/layers.h"
#include "model/model_config.h"

namespace ember::model {

/// Where the tokens of one forward pass sit and what they may attend to.
struct AttentionContext {
  torch::Tensor positions;  ///< [B, T] int64 RoPE positions
  torch::Tensor mask;       ///< [B, 1, T, S] bool, true = may attend; undefined = plain causal (S == T)
  /// [B, T] int64 with packed(): the first token of each token's document, the mask in the form
  /// the CPU attention kernel takes (cpu_attention.h); undefined otherwise.
  torch::Tensor document_start;

  /// Positions 0..T-1 in every row, causal attention (no mask tensor: the fused kernels apply it).
  static AttentionContext causal(int64_t batch, int64_t tokens, const c10::Device& device);

  /// Packed sequences: doc_ids [B, T] (any integer type) label the document of each token; a
  /// document is a run of equal ids. RoPE positions restart at 0 in every document and a token
  /// sees only earlier tokens of its own document (a block-diagonal causal mask). The mask is
  /// built only when some row holds more than one document; otherwise this is causal().
  static AttentionContext packed(const torch::Tensor& doc_ids);
};

/// What every block of one forward pass reads besides its input (built by DecoderImpl::forward).
struct ForwardContext {
  torch::Tensor cos, sin;        ///< rope_cos_sin of the tokens' positions, [B, 1, T, d]
  torch::Tensor mask;            ///< AttentionContext::mask
  torch::Tensor document_start;  ///< AttentionContext::document_start
  KVCache* cache = nullptr;      ///< with a cache, layer i stores its new keys and values in its layer i
  kernels::KernelPolicy policy;  ///< which kernels run (the Transformer's)
};

class AttentionImpl : public torch::nn::Cloneable<AttentionImpl> {
 public:
  explicit AttentionImpl(const ModelConfig& config);
  void reset() override;

  /// x [B, T, C] -> [B, T, C] as block `layer` of the pass. With a cache, the new keys and values
  /// are stored in layer `layer` of it and the queries attend over all S cached slots; the context
  /// mask is then required. document_start may come with a document mask, for the CPU kernel,
  /// which takes it instead of the mask.
  torch::Tensor forward(const torch::Tensor& x, const ForwardContext& context, int64_t layer = 0);

  ModelConfig config;
  Projection q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};  ///< per-head RMSNorm over d (only with config.qk_norm)
};
TORCH_MODULE(Attention);

}  // namespace ember::model
