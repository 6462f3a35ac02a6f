// Parameter and FLOP accounting (see flops.h for the formulas).
#include "model/flops.h"

namespace ember::model {

namespace {

int64_t layer_matmul_parameters(const ModelConfig& c) {
  const int64_t d = c.resolved_head_dim();
  return c.d_model * c.n_heads * d + 2 * c.d_model * c.n_kv_heads * d + c.n_heads * d * c.d_model +
         3 * c.d_model * c.ffn_hidden;
}

double attention_flops_per_token(const ModelConfig& c, int64_t seq_len) {
  return 4.0 * double(c.n_layers) * double(seq_len) * double(c.n_heads) * double(c.resolved_head_dim());
}

}  // namespace

int64_t count_non_embedding_parameters(const ModelConfig& c) {
  const int64_t d = c.resolved_head_dim();
  int64_t per_layer = layer_matmul_parameters(c) + 2 * c.d_model;  // + input / post-attention norms
  if (c.attn_bias) per_layer += c.n_heads * d + 2 * c.n_kv_heads * d;
  if (c.qk_norm) per_layer += 2 * d;
  return c.n_layers * per_layer + c.d_model;  // + final norm
}

int64_t count_parameters(const ModelConfig& c) {
  const int64_t embedding = c.vocab_size * c.d_model;
  return count_non_embedding_parameters(c) + embedding + (c.tie_embeddings ? 0 : embedding);
}

int64_t count_matmul_parameters(const ModelConfig& c) {
  return c.n_layers * layer_matmul_parameters(c) + c.vocab_size * c.d_model;
}

double forward_flops_per_token(const ModelConfig& c, int64_t seq_len) {
  return 2.0 * double(count_matmul_parameters(c)) + attention_flops_per_token(c, seq_len);
}

double training_flops_per_token(const ModelConfig& c, int64_t seq_len) {
  return 3.0 * forward_flops_per_token(c, seq_len);
}

}  // namespace ember::model
