// Next-token sampling from logits [B, V]: greedy, temperature, top-k and top-p (nucleus), with the
// randomness supplied as one uniform number per row so that each request can own its generator.
//
//   p = softmax(logits / temperature)
//   top-k keeps the k largest p; top-p then keeps the smallest prefix (by descending p) whose mass
//   reaches top_p (the most likely token always stays); the kept p are renormalised and the token
//   is the first whose cumulative mass exceeds u * total (inverse CDF with the row's uniform u).
// The returned log-probability is log softmax(logits / temperature)[token] before any top-k / top-p
// filtering (temperature 1 for greedy): the policy's own probability, as RL losses need it.
#pragma once

#include <cstdint>

#include <ATen/Tensor.h>

namespace ember::model {

struct SamplingOptions {
  double temperature = 1.0;  ///< 0 picks the argmax (greedy)
  int64_t top_k = 0;         ///< keep the k most likely tokens; 0 keeps all
  double top_p = 1.0;        ///< keep the smallest most-likely set with this mass; 1 keeps all
  /// Sample only ids below this (a tokenizer smaller than the embedding's padded rows); 0 = all.
  /// Log-probs are then those of the restricted distribution.
  int64_t vocab_limit = 0;
};

struct SampledTokens {
  at::Tensor tokens;    ///< [B] int64
  at::Tensor logprobs;  ///< [B] fp32
};

/// Samples one token per row of logits [B, V]. uniforms [B] in [0, 1) (any float dtype and
/// device; ignored when greedy). Throws ember::Error for a negative temperature or top_k, or a
/// top_p outside (0, 1].
SampledTokens sample_tokens(const at::Tensor& logits, const at::Tensor& uniforms, const SamplingOptions& options);

}  // namespace ember::model
