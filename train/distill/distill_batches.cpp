// Distillation micro-batches from token stores and from sampled completions (see distill_batches.h).
#include "train/distill/distill_batches.h"

#include <algorithm>

#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/where.h>
#include <ATen/ops/full_like.h>

#include "data/tasks/split.h"
#include "model/generate.h"
#include "model/loss.h"
#include "train/sampling/sequence_logprobs.h"
#include "train/sampling/task_prompts.h"

namespace ember::train::distill {
namespace {

at::Tensor to_device_long(const std::vector<int32_t>& values, int64_t rows, int64_t cols, const c10::Device& device) {
  auto host = at::from_blob(const_cast<int32_t*>(values.data()), {rows, cols}, at::TensorOptions().dtype(at::kInt));
  return host.to(device, at::kLong, false, true);
}

/// Seed of the sample for prompt `index` (independent of which prompts share a batch).
uint64_t prompt_seed(uint64_t seed, uint64_t index) { return seed * 0x9E3779B97F4A7C15ull + index * 0xBF58476D1CE4E5B9ull; }

}  // namespace

DistillMicroBatch dataset_micro_batch(const data::Batch& batch, const c10::Device& device, bool mask_documents,
                                      const TeacherLogitsReader* stored) {
  DistillMicroBatch m;
  m.inputs = to_device_long(batch.inputs, batch.batch, batch.seq_len, device);
  m.targets = to_device_long(batch.targets, batch.batch, batch.seq_len, device);
  if (mask_documents) m.doc_ids = to_device_long(batch.segment_ids, batch.batch, batch.seq_len, device);
  m.kd_weights = at::ones({batch.batch, batch.seq_len}, m.inputs.options().dtype(at::kFloat));
  m.ce_tokens = m.kd_tokens = batch.batch * batch.seq_len;
  if (stored != nullptr) {
    std::vector<at::Tensor> ids, logprobs;
    for (int64_t row = 0; row < batch.batch; ++row) {
      const auto crc = inputs_crc32c(batch.inputs.data() + row * batch.seq_len, batch.seq_len);
      auto topk = stored->read(batch.row_epochs[size_t(row)], batch.row_sequences[size_t(row)], crc);
      ids.push_back(topk.ids);
      logprobs.push_back(topk.logprobs);
    }
    m.stored_topk = TeacherTopK{at::cat(ids, 0).to(device), at::cat(logprobs, 0).to(device)};
  }
  return m;
}

SampledMicroBatch sampled_micro_batch(model::Transformer& sampler, const data::Tokenizer& tokenizer,
                                      const data::tasks::Task& task, int64_t count, uint64_t& next_prompt_index,
                                      const SamplingOptions& options, bool for_divergence, const c10::Device& device) {
  SampledMicroBatch out;
  const uint64_t first = next_prompt_index;
  auto problems =
      sampling::draw_problems(task, data::tasks::Split::train, options.seed, first, count, options.difficulty);
  next_prompt_index += uint64_t(count);
  std::vector<std::vector<int64_t>> prompts;
  auto generation = sampling::completion_options(tokenizer, options.max_new_tokens, options.temperature);
  for (int64_t i = 0; i < count; ++i) {
    prompts.push_back(sampling::encode_prompt(tokenizer, problems[size_t(i)].prompt));
    generation.seeds.push_back(prompt_seed(options.seed, first + uint64_t(i)));
    out.prompt_tokens += int64_t(prompts.back().size());
  }
  const bool was_training = sampler->is_training();
  sampler->eval();
  auto completions = model::generate(sampler, prompts, generation);
  if (was_training) sampler->train();

  std::vector<sampling::ScoredSequence> kept;
  for (int64_t i = 0; i < count; ++i) {
    auto& completion = completions[size_t(i)];
    // A model with padded embedding rows can sample an id the tokenizer lacks: the completion ends
    // before it (such rows only get mass from an untrained tail).
    auto outside = std::find_if(completion.token_ids.begin(), completion.token_ids.end(),
                                [&](int64_t id) { return id >= tokenizer.vocab_size(); });
    if (outside == completion.token_ids.begin()) continue;
    completion.token_ids.erase(outside, completion.token_ids.end());
    out.generated_tokens += int64_t(completion.token_ids.size());
    out.longest = std::max<int64_t>(out.longest, int64_t(prompts[size_t(i)].size() + completion.token_ids.size()));
    const bool correct = task.verify(problems[size_t(i)], sampling::completion_text(tokenizer, completion)).correct;
    out.correct += correct ? 1 : 0;
    if (options.correct_only && !correct) continue;
    sampling::ScoredSequence sequence;
    sequence.prompt = &prompts[size_t(i)];
    sequence.completion = &completion.token_ids;
    kept.push_back(sequence);
  }
  out.prompts = count;
  out.kept = int64_t(kept.size());
  if (kept.empty()) return out;
  auto laid_out = sampling::make_sequence_batch(kept, device);
  DistillMicroBatch m;
  m.inputs = laid_out.input_ids;
  const auto completion_tokens = laid_out.mask;
  const int64_t counted = int64_t(completion_tokens.sum().item<double>());
  if (for_divergence) {
    m.targets = at::full_like(laid_out.targets, model::kIgnoreIndex);
    m.kd_weights = completion_tokens;
    m.kd_tokens = counted;
  } else {
    m.targets = at::where(completion_tokens > 0, laid_out.targets, at::full_like(laid_out.targets, model::kIgnoreIndex));
    m.ce_tokens = counted;
  }
  out.batch = std::move(m);
  return out;
}

}  // namespace ember::train::distill
