// Canonical parameter names and shapes of a ModelConfig (see parameter_layout.h).
#include "export/parameter_layout.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ember::exporting {

int64_t ParameterSpec::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

std::vector<ParameterSpec> parameter_layout(const model::ModelConfig& config) {
  const int64_t d_model = config.d_model;
  const int64_t head_dim = config.resolved_head_dim();
  const int64_t q_width = config.n_heads * head_dim;
  const int64_t kv_width = config.n_kv_heads * head_dim;
  const int64_t hidden = config.ffn_hidden;

  std::vector<ParameterSpec> layout;
  layout.push_back({"model.embed_tokens.weight", {config.vocab_size, d_model}, ParameterRole::kEmbedding});
  for (int64_t i = 0; i < config.n_layers; ++i) {
    const std::string block = fmt::format("model.layers.{}.", i);
    auto add = [&](const std::string& suffix, std::vector<int64_t> shape, ParameterRole role) {
      layout.push_back({block + suffix, std::move(shape), role, i});
    };
    add("input_layernorm.weight", {d_model}, ParameterRole::kAttentionNorm);
    add("self_attn.q_proj.weight", {q_width, d_model}, ParameterRole::kQuery);
    if (config.attn_bias) add("self_attn.q_proj.bias", {q_width}, ParameterRole::kQueryBias);
    add("self_attn.k_proj.weight", {kv_width, d_model}, ParameterRole::kKey);
    if (config.attn_bias) add("self_attn.k_proj.bias", {kv_width}, ParameterRole::kKeyBias);
    add("self_attn.v_proj.weight", {kv_width, d_model}, ParameterRole::kValue);
    if (config.attn_bias) add("self_attn.v_proj.bias", {kv_width}, ParameterRole::kValueBias);
    add("self_attn.o_proj.weight", {d_model, q_width}, ParameterRole::kOutput);
    if (config.qk_norm) {
      add("self_attn.q_norm.weight", {head_dim}, ParameterRole::kQueryNorm);
      add("self_attn.k_norm.weight", {head_dim}, ParameterRole::kKeyNorm);
    }
    add("post_attention_layernorm.weight", {d_model}, ParameterRole::kMlpNorm);
    add("mlp.gate_proj.weight", {hidden, d_model}, ParameterRole::kGate);
    add("mlp.up_proj.weight", {hidden, d_model}, ParameterRole::kUp);
    add("mlp.down_proj.weight", {d_model, hidden}, ParameterRole::kDown);
  }
  layout.push_back({"model.norm.weight", {d_model}, ParameterRole::kFinalNorm});
  if (!config.tie_embeddings) {
    layout.push_back({"lm_head.weight", {config.vocab_size, d_model}, ParameterRole::kLmHead});
  }
  return layout;
}

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

}  // namespace ember::exporting
