// Grouped-query attention and attention contexts (see attention.h).
#include "model/attention.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros_like.h>

#include "model/kernels/cpu_attention.h"
#include "model/kernels/fused_projections.h"
#include "model/kernels/reference_ops.h"

namespace ember::model {

AttentionContext AttentionContext::causal(int64_t batch, int64_t tokens, const c10::Device& device) {
  auto positions = at::arange(tokens, at::TensorOptions().dtype(at::kLong).device(device));
  return {positions.unsqueeze(0).expand({batch, tokens}), torch::Tensor(), torch::Tensor()};
}

AttentionContext AttentionContext::packed(const torch::Tensor& doc_ids) {
  TORCH_CHECK(doc_ids.dim() == 2, "doc_ids must be [B, T], got ", doc_ids.sizes());
  const int64_t batch = doc_ids.size(0), tokens = doc_ids.size(1);
  auto ids = doc_ids.to(at::kLong);
  // A new document starts at t = 0 and wherever the id changes.
  auto starts = at::ones_like(ids, ids.options().dtype(at::kBool));
  if (tokens > 1) starts.narrow(1, 1, tokens - 1).copy_(ids.narrow(1, 1, tokens - 1) != ids.narrow(1, 0, tokens - 1));
  if (!starts.narrow(1, 1, tokens - 1).any().item<bool>()) return causal(batch, tokens, doc_ids.device());

  auto index = at::arange(tokens, ids.options()).unsqueeze(0).expand({batch, tokens});
  auto document_start = std::get<0>(at::where(starts, index, at::zeros_like(index)).cummax(1));  // [B, T]
  auto segment = starts.to(at::kLong).cumsum(1);                                               // [B, T]
  auto same_document = segment.unsqueeze(2) == segment.unsqueeze(1);                           // [B, T, T]
  auto causal_mask = at::ones({tokens, tokens}, starts.options()).tril();
  return {index - document_start, (same_document & causal_mask).unsqueeze(1), document_start};
}

AttentionImpl::AttentionImpl(const ModelConfig& config_) : config(config_) { reset(); }

void AttentionImpl::reset() {
  const int64_t d = config.resolved_head_dim();
  auto linear = [](int64_t in, int64_t out, bool bias) {
    return Projection(torch::nn::LinearOptions(in, out).bias(bias));
  };
  q_proj = register_module("q_proj", linear(config.d_model, config.n_heads * d, config.attn_bias));
  k_proj = register_module("k_proj", linear(config.d_model, config.n_kv_heads * d, config.attn_bias));
  v_proj = register_module("v_proj", linear(config.d_model, config.n_kv_heads * d, config.attn_bias));
  o_proj = register_module("o_proj", linear(config.n_heads * d, config.d_model, false));
  if (config.qk_norm) {
    q_norm = register_module("q_norm", RMSNorm(RMSNormOptions(d, config.norm_eps)));
    k_norm = register_module("k_norm", RMSNorm(RMSNormOptions(d, config.norm_eps)));
  }
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const ForwardContext& context, int64_t layer) {
  const auto& policy = context.policy;
  const int64_t batch = x.size(0), d = config.resolved_head_dim();
  // Head and token counts follow the projections' outputs, so sharded projections (fewer heads) and
  // sequence-parallel ones (x holds a part of the tokens, the projection all of them) work unchanged.
  auto heads = [&](const torch::Tensor& projected) {
    return projected.view({batch, projected.size(1), -1, d}).transpose(1, 2);
  };
  torch::Tensor q, k, v;
  if (kernels::fused_projections_apply(policy, x, {q_proj.get(), k_proj.get(), v_proj.get()})) {
    auto qkv = kernels::fused_projection(x, {q_proj.get(), k_proj.get(), v_proj.get()})
                   .split_with_sizes({q_proj->weight.size(0), k_proj->weight.size(0), v_proj->weight.size(0)}, -1);
    q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
  } else {
    q = heads(q_proj->project(x, policy)), k = heads(k_proj->project(x, policy)), v = heads(v_proj->project(x, policy));
  }
  if (config.qk_norm) {
    q = q_norm->forward(q, policy);
    k = k_norm->forward(k, policy);
  }
  q = apply_rope(q, context.cos, context.sin, policy);
  k = apply_rope(k, context.cos, context.sin, policy);
  const auto& mask = context.mask;
  if (context.cache) {
    TORCH_CHECK(mask.defined(), "attention over a KV cache needs an explicit mask");
    std::tie(k, v) = context.cache->update(layer, k, v);
  }
  // A document mask (packed sequences, no cache) goes to the CPU kernel as document starts.
  const bool document_mask = mask.defined() && context.document_start.defined() && !context.cache;
  auto out = (!mask.defined() || document_mask) && kernels::cpu_causal_attention_applies(policy, q, k, v)
                 ? kernels::cpu_causal_attention(q, k, v, document_mask ? context.document_start : torch::Tensor())
                 : kernels::reference_attention(q, k, v, mask);
  return o_proj->project(out.transpose(1, 2).reshape({batch, out.size(2), -1}), policy);
}

}  // namespace ember::model
