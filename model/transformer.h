// The decoder-only Transformer of the Llama / Qwen2 / Qwen3 family, in plain LibTorch modules.
//
//   x = embed_tokens(ids)                                   [B, T] -> [B, T, C]
//   for each layer:  x = x + self_attn(input_layernorm(x))        (attention.h)
//                    x = x + mlp(post_attention_layernorm(x))     (SwiGLU, layers.h)
//   logits = lm_head(norm(x))                               [B, T, V]; lm_head = embed_tokens when tied
// The projections and the embedding are virtual seams (layers.h) that distributed/ fills with
// tensor-parallel versions; the maths here stays that of one process. Which kernels compute it is
// the model's kernel policy (kernels/kernel_policy.h), passed down to every layer in the forward
// context: fast kernels where they apply by default, set from the run config by the recipes.
//
// Parameter names are the canonical (Hugging Face Llama) ones:
//   model.embed_tokens.weight                         model.norm.weight
//   model.layers.{i}.self_attn.{q,k,v,o}_proj.weight  (+ {q,k,v}_proj.bias with attn_bias)
//   model.layers.{i}.self_attn.{q,k}_norm.weight      (qk_norm)
//   model.layers.{i}.mlp.{gate,up,down}_proj.weight
//   model.layers.{i}.{input,post_attention}_layernorm.weight
//   lm_head.weight                                    (only when the embeddings are untied)
// Init: every matrix ~ N(0, init_std), o_proj and down_proj ~ N(0, init_std / sqrt(2 n_layers)),
// biases 0, norm weights 1. The model knows nothing of parallelism, files or run configs.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "model/attention.h"
#include "model/kv_cache.h"
#include "model/layers.h"
#include "model/model_config.h"

namespace ember::model {

/// One pre-norm block: attention then SwiGLU, each behind an RMSNorm and a residual add.
class DecoderLayerImpl : public torch::nn::Cloneable<DecoderLayerImpl> {
 public:
  explicit DecoderLayerImpl(const ModelConfig& config);
  void reset() override;
  /// x [B, T, C] -> [B, T, C] as block `layer` of the pass (see AttentionImpl::forward).
  torch::Tensor forward(const torch::Tensor& x, const ForwardContext& context, int64_t layer);

  ModelConfig config;
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Attention self_attn{nullptr};
  MLP mlp{nullptr};
};
TORCH_MODULE(DecoderLayer);

/// Embedding, the stack of blocks and the final norm (HF's `model.` prefix).
class DecoderImpl : public torch::nn::Cloneable<DecoderImpl> {
 public:
  explicit DecoderImpl(const ModelConfig& config);
  void reset() override;
  /// input_ids [B, T] int64 -> final-normed hidden states [B, T, C], with the kernels of `policy`.
  torch::Tensor forward(const torch::Tensor& input_ids, const AttentionContext& context, KVCache* cache,
                        const kernels::KernelPolicy& policy);

  ModelConfig config;
  TokenEmbedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(Decoder);

class TransformerImpl : public torch::nn::Cloneable<TransformerImpl> {
 public:
  /// Builds and initialises the model (draws from torch's default generator: seed it first); every
  /// forward runs the kernels of `policy`.
  explicit TransformerImpl(const ModelConfig& config, const kernels::KernelPolicy& policy = {});
  void reset() override;

  /// Training forward: input_ids [B, T] int64 -> logits [B, T, V]. doc_ids [B, T] (optional)
  /// marks packed documents: RoPE positions restart and attention stays inside each document.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& doc_ids = {});

  /// Final-normed hidden states [B, T, C] for an explicit context; with a cache the new keys and
  /// values are appended to it (the caller advances it). Generation uses this with logits().
  torch::Tensor hidden_states(const torch::Tensor& input_ids, const AttentionContext& context,
                              KVCache* cache = nullptr);

  /// The training forward without the LM head: final-normed hidden states [B, T, C], so that a
  /// loss can apply the head itself (fused_linear_cross_entropy.h). forward = logits(this).
  torch::Tensor final_hidden(const torch::Tensor& input_ids, const torch::Tensor& doc_ids = {});

  /// LM head: hidden [..., C] -> logits [..., V].
  torch::Tensor logits(const torch::Tensor& hidden);

  /// The weight [V, C] the LM head multiplies by: lm_head's, or the embedding's when tied.
  torch::Tensor lm_head_weight() const;

  /// Draws every weight afresh with the init described at the top of this file.
  void init_weights();

  const ModelConfig& config() const { return config_; }

  /// The kernels every forward runs (train.fused_kernels / train.fused_projections in a run).
  const kernels::KernelPolicy& kernel_policy() const { return policy_; }
  void set_kernel_policy(const kernels::KernelPolicy& policy) { policy_ = policy; }

  Decoder model{nullptr};
  Projection lm_head{nullptr};  ///< null when the embeddings are tied

 private:
  ModelConfig config_;
  kernels::KernelPolicy policy_;
};
TORCH_MODULE(Transformer);

}  // namespace ember::model
