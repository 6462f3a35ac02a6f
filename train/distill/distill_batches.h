// Where a distillation step's sequences come from, as micro-batches the loss reads:
//   dataset rows     packed token-store sequences (online, offline, the dataset share of
//                    on-policy): cross-entropy and divergence on every token; offline rows also
//                    carry the teacher's stored top-k, looked up by (epoch, sequence);
//   student samples  on-policy: the student samples completions of task prompts (train split) with
//                    the generation engine; the divergence runs on the completion tokens only;
//   teacher samples  sequence-level KD: the teacher generates solutions (optionally only those
//                    the verifier accepts); cross-entropy on the completion tokens only.
// Sampled sequences are laid out by sampling::make_sequence_batch: prompt + completion from
// position 0, right-padded, no document masking. Seeds are a function of (seed, prompt index), so a
// resumed run samples what the uninterrupted one would have.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/Tensor.h>

#include "data/batch.h"
#include "data/tasks/task.h"
#include "data/tokenizer/tokenizer.h"
#include "model/transformer.h"
#include "train/distill/divergence.h"
#include "train/distill/teacher_logits_file.h"

namespace ember::train::distill {

struct DistillMicroBatch {
  at::Tensor inputs;      ///< [B, T] int64
  at::Tensor targets;     ///< [B, T] int64; model::kIgnoreIndex where no cross-entropy is taken
  at::Tensor doc_ids;     ///< [B, T] int64 or undefined (no document masking)
  at::Tensor kd_weights;  ///< [B, T] fp32 1 where the divergence counts; undefined: no divergence
  std::optional<TeacherTopK> stored_topk;  ///< offline: [B * T, K]
  int64_t ce_tokens = 0, kd_tokens = 0;
};

/// A loader batch on `device`; with `stored` the teacher's top-k of every row is attached.
DistillMicroBatch dataset_micro_batch(const data::Batch& batch, const c10::Device& device, bool mask_documents,
                                      const TeacherLogitsReader* stored);

struct SamplingOptions {
  int64_t max_new_tokens = 64;
  double temperature = 1.0;
  int difficulty = 0;
  uint64_t seed = 0;
  bool correct_only = false;  ///< keep only completions the task's verifier accepts
};

/// Sampled sequences and what making them cost.
struct SampledMicroBatch {
  std::optional<DistillMicroBatch> batch;  ///< none when every completion was filtered out
  int64_t prompts = 0, kept = 0, correct = 0;
  int64_t prompt_tokens = 0, generated_tokens = 0, longest = 0;
};

/// Draws `count` train-split prompts from `next_prompt_index` on (advancing it), samples one
/// completion each from `sampler`, and lays them out. `for_divergence` puts the completion tokens
/// in kd_weights (on-policy); otherwise in targets (sequence-level KD).
SampledMicroBatch sampled_micro_batch(model::Transformer& sampler, const data::Tokenizer& tokenizer,
                                      const data::tasks::Task& task, int64_t count, uint64_t& next_prompt_index,
                                      const SamplingOptions& options, bool for_divergence, const c10::Device& device);

}  // namespace ember::train::distill
