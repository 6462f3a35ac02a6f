// Completion-token log-probs under a model (see sequence_logprobs.h).
#include "train/sampling/sequence_logprobs.h"

#include <algorithm>

#include <ATen/TensorOperators.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/log_softmax.h>
#include <c10/core/GradMode.h>

#include "core/error.h"

namespace ember::train::sampling {
namespace {

template <typename T>
at::Tensor to_tensor(std::vector<T>& values, at::IntArrayRef shape, at::ScalarType dtype, const c10::Device& device) {
  // copy=true: the tensor must not alias `values`, which the caller releases.
  return at::from_blob(values.data(), shape, at::TensorOptions().dtype(dtype)).to(device, dtype, false, true);
}

}  // namespace

SequenceBatch make_sequence_batch(const std::vector<ScoredSequence>& sequences, const c10::Device& device) {
  if (sequences.empty()) fail("no sequences to score");
  int64_t positions = 1;
  for (const auto& s : sequences) {
    if (s.prompt->empty() || s.completion->empty()) fail("a scored sequence needs a prompt and a completion");
    positions = std::max<int64_t>(positions, int64_t(s.prompt->size() + s.completion->size()) - 1);
  }
  const int64_t rows = int64_t(sequences.size());
  std::vector<int64_t> inputs(size_t(rows * positions), 0), targets(size_t(rows * positions), 0);
  std::vector<float> mask(size_t(rows * positions), 0.f), old(size_t(rows * positions), 0.f), advantages;
  for (int64_t b = 0; b < rows; ++b) {
    const auto& s = sequences[size_t(b)];
    const int64_t prompt_length = int64_t(s.prompt->size());
    const int64_t length = prompt_length + int64_t(s.completion->size());
    auto token = [&](int64_t i) { return i < prompt_length ? (*s.prompt)[size_t(i)] : (*s.completion)[size_t(i - prompt_length)]; };
    for (int64_t t = 0; t + 1 < length; ++t) {
      const size_t at = size_t(b * positions + t);
      inputs[at] = token(t);
      targets[at] = token(t + 1);
      if (t + 1 >= prompt_length) {
        const int64_t j = t + 1 - prompt_length;
        mask[at] = s.counts ? 1.f : 0.f;
        if (s.old_logprobs) old[at] = (*s.old_logprobs)[size_t(j)];
      }
    }
    advantages.push_back(float(s.advantage));
  }
  SequenceBatch batch;
  batch.input_ids = to_tensor(inputs, {rows, positions}, at::kLong, device);
  batch.targets = to_tensor(targets, {rows, positions}, at::kLong, device);
  batch.mask = to_tensor(mask, {rows, positions}, at::kFloat, device);
  batch.old_logprobs = to_tensor(old, {rows, positions}, at::kFloat, device);
  batch.advantages = to_tensor(advantages, {rows}, at::kFloat, device);
  return batch;
}

TokenLogprobs token_logprobs(model::Transformer& model, const SequenceBatch& batch, double temperature,
                             int64_t vocab_limit, bool with_entropy) {
  auto logits = model->forward(batch.input_ids).to(at::kFloat);
  if (vocab_limit > 0 && vocab_limit < logits.size(-1)) logits = logits.narrow(-1, 0, vocab_limit);
  if (temperature != 1.0) logits = logits / temperature;
  const auto log_probs = at::log_softmax(logits, -1);
  TokenLogprobs out;
  out.logprobs = log_probs.gather(-1, batch.targets.unsqueeze(-1)).squeeze(-1);
  if (with_entropy) {
    c10::NoGradGuard no_grad;
    out.entropy = -(log_probs.exp() * log_probs).sum(-1);
  }
  return out;
}

}  // namespace ember::train::sampling
