// Greedy / temperature / top-k / top-p sampling by inverse CDF (see sampler.h).
#include "model/sampler.h"

#include <algorithm>

#include <ATen/TensorOperators.h>
#include <ATen/ops/argmax.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/sort.h>
#include <ATen/ops/topk.h>

#include "core/error.h"

namespace ember::model {

SampledTokens sample_tokens(const at::Tensor& logits, const at::Tensor& uniforms, const SamplingOptions& options) {
  if (!(options.temperature >= 0)) fail("sampling temperature must be >= 0, got {}", options.temperature);
  if (options.top_k < 0) fail("sampling top_k must be >= 0, got {}", options.top_k);
  if (!(options.top_p > 0 && options.top_p <= 1)) fail("sampling top_p must be in (0, 1], got {}", options.top_p);

  if (options.vocab_limit < 0) fail("sampling vocab_limit must be >= 0, got {}", options.vocab_limit);
  auto scores = logits.to(at::kFloat);
  if (options.vocab_limit > 0 && options.vocab_limit < scores.size(-1)) scores = scores.narrow(-1, 0, options.vocab_limit);
  if (options.temperature == 0) {
    auto tokens = scores.argmax(-1);
    auto logprobs = at::log_softmax(scores, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1);
    return {tokens, logprobs};
  }
  scores = scores / options.temperature;
  const int64_t vocab = scores.size(-1);

  // Candidates in descending order of probability; without top-k / top-p, all tokens unsorted.
  at::Tensor candidates, probs;
  if (options.top_k > 0 || options.top_p < 1) {
    const int64_t k = options.top_k > 0 ? std::min(options.top_k, vocab) : vocab;
    auto [values, indices] = options.top_k > 0 ? at::topk(scores, k, -1) : at::sort(scores, -1, /*descending=*/true);
    candidates = indices;
    probs = at::softmax(values, -1);
    if (options.top_p < 1) {
      auto mass_before = probs.cumsum(-1) - probs;
      probs = probs * (mass_before < options.top_p);
    }
  } else {
    probs = at::softmax(scores, -1);
  }
  // Inverse CDF: the first index whose cumulative mass exceeds u * total (never a zero-mass one;
  // u is kept below 1 after rounding to fp32).
  auto cdf = probs.cumsum(-1);
  auto u = uniforms.to(cdf.device(), at::kFloat).clamp(0.0, 1.0 - 0x1.0p-24);
  auto target = u.unsqueeze(-1) * cdf.narrow(-1, cdf.size(-1) - 1, 1);
  auto choice = (cdf <= target).sum(-1).clamp_max(cdf.size(-1) - 1);
  auto tokens = candidates.defined() ? candidates.gather(-1, choice.unsqueeze(-1)).squeeze(-1) : choice;
  auto logprobs = at::log_softmax(scores, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1);
  return {tokens, logprobs};
}

}  // namespace ember::model
