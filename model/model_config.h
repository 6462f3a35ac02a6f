// ModelConfig: the architecture of one decoder of the Llama / Qwen2 / Qwen3 family. Plain data,
// torch-free; the only thing model code knows about configuration.
#pragma once

#include <cstdint>
#include <string>

namespace ember::model {

struct ModelConfig {
  int64_t vocab_size = 512;      ///< rows of the embedding (>= the tokenizer's vocabulary)
  int64_t d_model = 128;         ///< residual stream width
  int64_t n_layers = 4;          ///< decoder blocks
  int64_t n_heads = 4;           ///< query heads
  int64_t n_kv_heads = 4;        ///< key/value heads (grouped-query attention when < n_heads)
  int64_t head_dim = 0;          ///< per-head width; 0 means d_model / n_heads
  int64_t ffn_hidden = 384;      ///< SwiGLU hidden width
  int64_t max_seq_len = 512;     ///< longest sequence (RoPE tables, KV cache)
  double rope_theta = 10000.0;   ///< RoPE base frequency
  double norm_eps = 1e-5;        ///< RMSNorm epsilon
  bool qk_norm = false;          ///< RMSNorm on q and k per head (Qwen3)
  bool attn_bias = false;        ///< bias on q, k, v projections (Qwen2)
  bool tie_embeddings = true;    ///< LM head shares the embedding matrix
  double init_std = 0.02;        ///< normal init std; output projections scaled by 1/sqrt(2 n_layers)

  int64_t resolved_head_dim() const { return head_dim > 0 ? head_dim : d_model / n_heads; }
};

}  // namespace ember::model
