// The reference ops: the composite ATen expressions that the fast kernels of this folder are tested
// against and that the layers run wherever a kernel does not apply (another device or dtype, or a
// policy without it, see kernel_policy.h). Each is the plain maths of its op, in the layout and
// dtypes of Hugging Face's Llama, so the fused and the reference paths give the same results.
//
//   kernel                                  its reference
//   fused_rms_norm, fused_rope,             reference_rms_norm, reference_rope, reference_swiglu
//     fused_swiglu(_packed) (fused_kernels.h)
//   cpu_causal_attention (cpu_attention.h)   reference_attention
//   cpu_decode_linear (cpu_decode_linear.h)  at::linear (ProjectionImpl::forward in model/layers.h)
//   fused_projection (fused_projections.h)   the separate projections
//   fused_linear_cross_entropy               cross_entropy_sum of the logits (model/loss.h)
//
// Shapes: B batch, T query tokens, S key tokens, H query heads, K key/value heads, d = head_dim.
#pragma once

#include <ATen/Tensor.h>

namespace ember::model::kernels {

/// y = weight * (x * r).to(x.dtype), r = 1 / sqrt(mean(x^2 over the last dim) + eps), with x * r in
/// fp32 (as Hugging Face's LlamaRMSNorm); y in promote(x.dtype, weight.dtype).
at::Tensor reference_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

/// x * cos + rotate_half(x) * sin with rotate_half([x1, x2]) = [-x2, x1]; x [B, H, T, d], cos and
/// sin [B, 1, T, d].
at::Tensor reference_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

/// silu(gate) * up = gate * sigmoid(gate) * up.
at::Tensor reference_swiglu(const at::Tensor& gate, const at::Tensor& up);

/// softmax(q k^T / sqrt(d) + mask) v through at::scaled_dot_product_attention: q [B, H, T, d], k and
/// v [B, K, S, d] (query head h reads kv head h / (H / K)); mask [B, 1, T, S] bool (true = may
/// attend), or undefined for plain causal attention (S == T). On CUDA this is also the fast path:
/// LibTorch picks flash, cuDNN or memory-efficient kernels as train.attention_backend allows.
at::Tensor reference_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& mask);

}  // namespace ember::model::kernels
