// Held-out accuracy of a model on a generated task: `ember eval` and the periodic evaluations of
// the RL and distillation recipes (part of the shared sampling layer, train/sampling/).
//
// The first `samples` DISTINCT problems of the task's EVAL-split stream `seed` (never seen in
// training data, data/tasks/split.h; distinct by canonical key, so a story told again with another
// name or unit counts once, and a split too small for `samples` is an error) are answered with the KV-cache engine and judged by the task's verifier:
//   pass_k = 1, temperature 0:  greedy accuracy = correct / samples
//   pass_k = k:                 k completions per problem sampled at `temperature`; a problem
//                               counts when any of them is correct (pass@k with n = k samples)
// Completion i (problem i / k) is sampled with seed `seed + i`. With a dp group, dp rank d of D
// evaluates the problems [floor(d n / D), floor((d + 1) n / D)) and the counts are summed over dp
// (every tp rank of a dp group runs the same share), so the result is the single-process one.
#pragma once

#include <cstdint>

#include "data/tasks/task.h"
#include "data/tokenizer/tokenizer.h"
#include "distributed/communicator.h"
#include "model/transformer.h"

namespace ember::train::sampling {

struct TaskEvalOptions {
  int64_t samples = 200;
  uint64_t seed = 0;
  int difficulty = 0;  ///< 0 = the task's default
  int64_t pass_k = 1;
  double temperature = 0;
  int64_t max_new_tokens = 128;
  int64_t batch_size = 256;  ///< completions generated together
  distributed::Communicator* dp = nullptr;  ///< shards the problems over this group; null: all here
};

struct TaskEvalResult {
  int64_t samples = 0;
  int64_t correct = 0;  ///< problems solved (any of k)
  double accuracy = 0;
  double format_score = 0;   ///< mean over every completion
  double mean_length = 0;    ///< completion tokens, mean over every completion
  double truncated = 0;      ///< fraction of completions that hit max_new_tokens
};

/// Evaluates `model` (put in eval mode; restored to training mode by the caller when needed).
/// Throws ember::UsageError for samples < 1, pass_k < 1, or pass_k > 1 at temperature 0.
TaskEvalResult evaluate_task(model::Transformer& model, const data::Tokenizer& tokenizer,
                             const data::tasks::Task& task, const TaskEvalOptions& options);

}  // namespace ember::train::sampling
