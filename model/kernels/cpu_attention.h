// Causal self-attention on the CPU in fp32, forward and backward: what
// at::scaled_dot_product_attention(q, k, v, is_causal=true) computes for training and prefill
// without a mask, as one autograd Function whose products are BLAS sgemm calls on blocks of
// queries (see cpu_attention.cpp for the maths and the blocking). The attention layer
// (model/attention.cpp) takes it when cpu_causal_attention_applies and the reference,
// reference_attention (reference_ops.h), otherwise (a KV cache, another device or dtype, or a
// policy without fused kernels); the tests compare the two.
#pragma once

#include <ATen/Tensor.h>

#include "model/kernels/kernel_policy.h"

namespace ember::model::kernels {

/// True when the policy has fused kernels on, the build has a BLAS sgemm, and q [B, H, T, D], k
/// and v [B, Hkv, T, D] are fp32 CPU tensors with H a multiple of Hkv (grouped query attention)
/// and as many keys as queries.
bool cpu_causal_attention_applies(const KernelPolicy& policy, const at::Tensor& q, const at::Tensor& k,
                                  const at::Tensor& v);

/// softmax(q k^T / sqrt(D) + causal mask) v, each key/value head shared by H / Hkv query heads.
/// With key_start [B, T] (integers), query i of row b sees keys key_start[b, i] .. i only: the
/// block-diagonal causal mask of packed documents (AttentionContext::document_start). Any strides
/// with a unit last one. The result is [B, H, T, D] laid out in memory as [B, T, H, D], so the
/// output projection reads it without a copy.
at::Tensor cpu_causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                const at::Tensor& key_start = {});

}  // namespace ember::model::kernels
