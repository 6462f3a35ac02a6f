// Exact parameter counts and the standard model-FLOP accounting for the Transformer (torch-free).
//
// With C = d_model, L = n_layers, H = n_heads, K = n_kv_heads, d = head_dim, F = ffn_hidden,
// V = vocab_size, T = sequence length:
//   matmul weights per layer   P_layer = C*H*d + 2*C*K*d + H*d*C + 3*C*F     (q, k, v, o; gate, up, down)
//   N (matmul parameters)      N = L * P_layer + V*C                          (the LM head, tied or not)
//   forward FLOPs per token    2*N + 4*L*T*H*d     (q k^T and attention-weighted v, 2*T*H*d each)
//   training FLOPs per token   6*N + 12*L*T*H*d    (backward = 2 x forward; PaLM appendix B)
// The attention term counts the full T x T score matrix, as the standard accounting does, even
// though causal masking skips half of it. Embedding lookups, norms and biases are not counted.
#pragma once

#include <cstdint>

#include "model/model_config.h"

namespace ember::model {

/// Every trainable parameter; the embedding counts once when the LM head is tied to it.
int64_t count_parameters(const ModelConfig& config);

/// Parameters outside the token embedding and the LM head.
int64_t count_non_embedding_parameters(const ModelConfig& config);

/// N above: the parameters that take part in a matmul per token (blocks plus the LM head).
int64_t count_matmul_parameters(const ModelConfig& config);

/// 2*N + 4*L*T*H*d.
double forward_flops_per_token(const ModelConfig& config, int64_t seq_len);

/// 6*N + 12*L*T*H*d.
double training_flops_per_token(const ModelConfig& config, int64_t seq_len);

}  // namespace ember::model
