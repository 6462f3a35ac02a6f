// The `model.*` config keys bound to a ModelConfig (see model_schema.h).
#include "model/model_schema.h"

#include <fmt/format.h>

namespace ember::model {

void describe_model(config::Schema& s, ModelConfig& c) {
  s.section("model", "Decoder architecture (Llama / Qwen2 / Qwen3 family). Presets live in `configs/model/`.");
  s.add("model.vocab_size", c.vocab_size, "Embedding rows; at least the tokenizer's vocabulary.").min(1);
  s.add("model.d_model", c.d_model, "Residual stream width.").min(1);
  s.add("model.n_layers", c.n_layers, "Decoder blocks.").min(1);
  s.add("model.n_heads", c.n_heads, "Query heads.").min(1);
  s.add("model.n_kv_heads", c.n_kv_heads, "Key/value heads; fewer than n_heads is grouped-query attention.").min(1);
  s.add("model.head_dim", c.head_dim, "Per-head width; 0 means d_model / n_heads.").min(0);
  s.add("model.ffn_hidden", c.ffn_hidden, "SwiGLU hidden width.").min(1);
  s.add("model.max_seq_len", c.max_seq_len, "Longest sequence the model handles (RoPE tables, KV cache).").min(1);
  s.add("model.rope_theta", c.rope_theta, "RoPE base frequency.").min(1);
  s.add("model.norm_eps", c.norm_eps, "RMSNorm epsilon.").min(0);
  s.add("model.qk_norm", c.qk_norm, "RMSNorm on queries and keys per head (Qwen3).");
  s.add("model.attn_bias", c.attn_bias, "Bias on the q, k, v projections (Qwen2).");
  s.add("model.tie_embeddings", c.tie_embeddings, "The LM head shares the embedding matrix.");
  s.add("model.init_std", c.init_std, "Std of the normal init; output projections use std / sqrt(2 n_layers).").min(0);
  s.add_check([&c]() -> std::optional<std::string> {
    if (c.n_heads % c.n_kv_heads != 0) {
      return fmt::format("model.n_heads ({}) must be a multiple of model.n_kv_heads ({})", c.n_heads, c.n_kv_heads);
    }
    if (c.head_dim == 0 && c.d_model % c.n_heads != 0) {
      return fmt::format("model.d_model ({}) must be divisible by model.n_heads ({}) when model.head_dim is 0",
                         c.d_model, c.n_heads);
    }
    if (c.resolved_head_dim() % 2 != 0) {
      return fmt::format("the head dimension ({}) must be even for RoPE", c.resolved_head_dim());
    }
    return std::nullopt;
  });
}

}  // namespace ember::model
