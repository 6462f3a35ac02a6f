// The Llama / Qwen3-family decoder (see transformer.h).
#include "model/transformer.h"

#include <cmath>

#include <torch/nn/init.h>

#include "core/error.h"

namespace ember::model {

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& config_) : config(config_) { reset(); }

void DecoderLayerImpl::reset() {
  self_attn = register_module("self_attn", Attention(config));
  mlp = register_module("mlp", MLP(config));
  input_layernorm = register_module("input_layernorm", RMSNorm(RMSNormOptions(config.d_model, config.norm_eps)));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(RMSNormOptions(config.d_model, config.norm_eps)));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const ForwardContext& context, int64_t layer) {
  const auto& policy = context.policy;
  auto h = x + self_attn->forward(input_layernorm->forward(x, policy), context, layer);
  return h + mlp->forward(post_attention_layernorm->forward(h, policy), policy);
}

DecoderImpl::DecoderImpl(const ModelConfig& config_) : config(config_) { reset(); }

void DecoderImpl::reset() {
  embed_tokens = register_module("embed_tokens", TokenEmbedding(config.vocab_size, config.d_model));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.n_layers; ++i) layers->push_back(DecoderLayer(config));
  norm = register_module("norm", RMSNorm(RMSNormOptions(config.d_model, config.norm_eps)));
}

torch::Tensor DecoderImpl::forward(const torch::Tensor& input_ids, const AttentionContext& context, KVCache* cache,
                                   const kernels::KernelPolicy& policy) {
  auto x = embed_tokens->forward(input_ids);
  auto [cos, sin] = rope_cos_sin(context.positions, config.resolved_head_dim(), config.rope_theta, x.scalar_type());
  const ForwardContext blocks{cos, sin, context.mask, context.document_start, cache, policy};
  for (size_t i = 0; i < layers->size(); ++i) x = layers->ptr<DecoderLayerImpl>(i)->forward(x, blocks, int64_t(i));
  return norm->forward(x, policy);
}

TransformerImpl::TransformerImpl(const ModelConfig& config, const kernels::KernelPolicy& policy)
    : config_(config), policy_(policy) {
  reset();
  init_weights();
}

void TransformerImpl::reset() {
  if (config_.n_heads % config_.n_kv_heads != 0) {
    fail("n_heads ({}) must be a multiple of n_kv_heads ({})", config_.n_heads, config_.n_kv_heads);
  }
  if (config_.resolved_head_dim() % 2 != 0) fail("head_dim ({}) must be even for RoPE", config_.resolved_head_dim());
  model = register_module("model", Decoder(config_));
  if (!config_.tie_embeddings) {
    lm_head = register_module(
        "lm_head", Projection(torch::nn::LinearOptions(config_.d_model, config_.vocab_size).bias(false)));
  }
}

void TransformerImpl::init_weights() {
  torch::NoGradGuard no_grad;
  const double output_std = config_.init_std / std::sqrt(2.0 * double(config_.n_layers));
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    auto& p = item.value();
    auto ends_with = [&](const std::string& suffix) {
      return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with("norm.weight")) {
      p.fill_(1.0);
    } else if (ends_with(".bias")) {
      p.zero_();
    } else if (ends_with("o_proj.weight") || ends_with("down_proj.weight")) {
      torch::nn::init::normal_(p, 0.0, output_std);
    } else {
      torch::nn::init::normal_(p, 0.0, config_.init_std);
    }
  }
}

torch::Tensor TransformerImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& doc_ids) {
  return logits(final_hidden(input_ids, doc_ids));
}

torch::Tensor TransformerImpl::final_hidden(const torch::Tensor& input_ids, const torch::Tensor& doc_ids) {
  auto context = doc_ids.defined() ? AttentionContext::packed(doc_ids)
                                   : AttentionContext::causal(input_ids.size(0), input_ids.size(1), input_ids.device());
  return hidden_states(input_ids, context);
}

torch::Tensor TransformerImpl::hidden_states(const torch::Tensor& input_ids, const AttentionContext& context,
                                             KVCache* cache) {
  return model->forward(input_ids, context, cache, policy_);
}

torch::Tensor TransformerImpl::logits(const torch::Tensor& hidden) {
  if (lm_head) return lm_head->project(hidden, policy_);
  return model->embed_tokens->attend_logits(hidden, policy_);
}

torch::Tensor TransformerImpl::lm_head_weight() const {
  return lm_head ? lm_head->weight : model->embed_tokens->weight;
}

}  // namespace ember::model
