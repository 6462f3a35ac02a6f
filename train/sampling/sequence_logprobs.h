// Log-probabilities of sampled completion tokens under a model, for a batch of (prompt,
// completion) pairs: what the RL policy loss compares with the rollout's log-probs, and what the KL
// reference provides; distillation lays out its sampled sequences the same way (train/sampling/).
//
// Each pair is laid out as s = prompt + completion (length n), right-padded to the batch's
// longest; the model reads s[0 .. n-2] and position t predicts s[t+1]. Completion token j
// (s[P + j], P = prompt length) is therefore scored at position P + j - 1:
//
//   logprob_t = log softmax(logits_t / temperature)[s[t+1]]
//   entropy_t = -sum_v p_v log p_v  of the same tempered distribution
//
// The same temperature as the sampler is used, so that with unchanged weights these equal the
// rollout's log-probs (model/sampler.h) up to float rounding. Right padding never reaches a real
// position through causal attention, and RoPE positions start at 0 at the prompt as in generation.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/Tensor.h>

#include "model/transformer.h"

namespace ember::train::sampling {

/// One (prompt, completion) pair with what the loss needs per completion token.
struct ScoredSequence {
  const std::vector<int64_t>* prompt = nullptr;
  const std::vector<int64_t>* completion = nullptr;
  const std::vector<float>* old_logprobs = nullptr;  ///< one per completion token (may be null)
  double advantage = 0;
  bool counts = true;  ///< false leaves every token of the sequence out of the loss
};

/// A batch of B pairs as tensors over T = longest prompt + completion - 1 positions.
struct SequenceBatch {
  at::Tensor input_ids;     ///< [B, T] int64 (padding: token 0)
  at::Tensor targets;       ///< [B, T] int64 the token each position predicts
  at::Tensor mask;          ///< [B, T] fp32 1 at completion tokens of counting sequences
  at::Tensor old_logprobs;  ///< [B, T] fp32 rollout log-probs (0 elsewhere)
  at::Tensor advantages;    ///< [B] fp32
};

/// Lays out `sequences` on `device` (see the header comment).
SequenceBatch make_sequence_batch(const std::vector<ScoredSequence>& sequences, const c10::Device& device);

struct TokenLogprobs {
  at::Tensor logprobs;  ///< [B, T] fp32, differentiable when grad mode is on
  at::Tensor entropy;   ///< [B, T] fp32, detached; undefined unless requested
};

/// Runs `model` on the batch and gathers the log-probs of the targets at `temperature`. With
/// vocab_limit > 0 the distribution is over ids below it only (the tokenizer's vocabulary, when the
/// embedding has padding rows), as the sampler's is: otherwise the trainer and the rollout would
/// disagree on every log-prob.
TokenLogprobs token_logprobs(model::Transformer& model, const SequenceBatch& batch, double temperature,
                             int64_t vocab_limit, bool with_entropy);

}  // namespace ember::train::sampling
