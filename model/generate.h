// Batched autoregressive generation with a KV cache: the engine behind `ember generate`, RL
// rollouts and on-policy distillation. Built for batches of hundreds of prompts of different
// lengths:
//   * prompts are left-padded to the longest one (right-padded input is rotated into place), and
//     the whole batch is prefilled in one forward; padding slots are masked out and RoPE positions
//     start at 0 at each prompt's first real token, so a row's result does not depend on padding;
//   * each decode step feeds one token per active row through the cached keys and values;
//   * rows that stop are dropped from the batch (and the cache) once a quarter of it is done;
//   * every request owns a CPU torch::Generator seeded from its own seed, so its samples do not
//     depend on which other requests share the batch.
// Shapes: B prompts, T longest prompt, N max_new_tokens, V vocabulary.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/Tensor.h>

#include "model/sampler.h"
#include "model/transformer.h"

namespace ember::model {

enum class Padding { kLeft, kRight };

/// Prompts as one padded tensor: ids [B, T] int64 with lengths [B] real tokens per row, padded on
/// `side` (the padding values are never read).
struct PaddedPrompts {
  at::Tensor ids;
  at::Tensor lengths;
  Padding side = Padding::kLeft;
};

struct GenerationOptions {
  int64_t max_new_tokens = 64;       ///< tokens generated per prompt at most
  SamplingOptions sampling;          ///< temperature 0 = greedy
  std::vector<int64_t> stop_tokens;  ///< a row ends after sampling one of these (kept in its output)
  std::vector<uint64_t> seeds;       ///< one per prompt; empty means seed + prompt index
  uint64_t seed = 0;
};

enum class FinishReason { kStop, kLength };

struct Completion {
  std::vector<int64_t> token_ids;  ///< sampled tokens, the stop token included
  std::vector<float> logprobs;     ///< log-probability of each sampled token (see sampler.h)
  FinishReason finish_reason = FinishReason::kLength;
};

/// Generates a completion for every prompt (each at least one token long). The model runs in
/// no-grad mode on its own device and dtype; T + max_new_tokens must not exceed
/// config.max_seq_len. Throws ember::Error for empty prompts, ids outside the vocabulary, or
/// too long a request.
std::vector<Completion> generate(Transformer& model, const PaddedPrompts& prompts, const GenerationOptions& options);

/// The same for prompts given as token lists.
std::vector<Completion> generate(Transformer& model, const std::vector<std::vector<int64_t>>& prompts,
                                 const GenerationOptions& options);

}  // namespace ember::model
