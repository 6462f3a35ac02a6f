// Minibatch / micro-batch policy updates over one step's rollouts (see policy_update.h).
#include "train/rl/policy_update.h"

#include <algorithm>
#include <numeric>
#include <random>

#include <ATen/TensorOperators.h>
#include <c10/core/GradMode.h>

#include "core/error.h"
#include "train/parallel_setup.h"
#include "train/runtime.h"
#include "train/sampling/sequence_logprobs.h"

namespace ember::train::rl {
namespace {

/// Rollout indices of each minibatch of one epoch: a seeded shuffle cut into near-equal parts.
std::vector<std::vector<size_t>> minibatch_split(size_t rollouts, int64_t minibatches, uint64_t seed) {
  std::vector<size_t> order(rollouts);
  std::iota(order.begin(), order.end(), size_t(0));
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  const size_t parts = std::max<size_t>(1, std::min<size_t>(size_t(minibatches), rollouts));
  std::vector<std::vector<size_t>> split(parts);
  for (size_t i = 0; i < rollouts; ++i) split[i * parts / rollouts].push_back(order[i]);
  return split;
}

std::vector<std::vector<size_t>> micro_batches(const std::vector<size_t>& minibatch, int64_t micro_batch_size) {
  const size_t size = micro_batch_size > 0 ? size_t(micro_batch_size) : minibatch.size();
  std::vector<std::vector<size_t>> parts;
  for (size_t start = 0; start < minibatch.size(); start += size) {
    parts.emplace_back(minibatch.begin() + long(start), minibatch.begin() + long(std::min(start + size, minibatch.size())));
  }
  return parts;
}

sampling::ScoredSequence scored(const Rollout& r) {
  return {&r.prompt_ids, &r.completion_ids, &r.logprobs, r.advantage, r.counts};
}

}  // namespace

UpdateStats update_policy(Trainer& trainer, model::Transformer& policy, model::Transformer* reference,
                          const RolloutBatch& batch, const UpdateOptions& options, int64_t step) {
  if (options.loss.kl_coef > 0 && reference == nullptr) fail_usage("a KL term in the loss needs a reference model");
  const auto device = policy->parameters().front().device();
  // The epochs' minibatches over the global batch, and the rollouts of each that live here.
  const size_t total = size_t(batch.global_rollouts);
  std::vector<int64_t> local_of(total, -1);
  for (size_t i = 0; i < batch.rollouts.size(); ++i) local_of.at(batch.rollouts[i].index) = int64_t(i);
  std::vector<std::vector<size_t>> minibatches;
  std::vector<int64_t> epoch_of;
  for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    const uint64_t shuffle_seed = options.seed * 1000003ULL + uint64_t(step) * 7919ULL + uint64_t(epoch);
    for (const auto& global : minibatch_split(total, options.minibatches, shuffle_seed)) {
      std::vector<size_t> local;
      for (size_t g : global) {
        if (local_of[g] >= 0) local.push_back(size_t(local_of[g]));
      }
      minibatches.push_back(std::move(local));
      epoch_of.push_back(epoch);
    }
  }
  // Global token and sequence counts of every minibatch: one all-reduce for the whole step.
  std::vector<double> counts(2 * minibatches.size(), 0.0);
  for (size_t b = 0; b < minibatches.size(); ++b) {
    for (size_t i : minibatches[b]) {
      const auto& r = batch.rollouts[i];
      if (!r.counts) continue;
      counts[2 * b] += double(r.completion_ids.size());
      counts[2 * b + 1] += 1;
    }
  }
  if (options.dp) counts = all_reduce_values(*options.dp, counts, distributed::ReduceOp::sum, device);

  UpdateStats stats;
  PolicyLossSums sums;
  double entropy_sum = 0, entropy_tokens = 0, gap_sum = 0, gap_tokens = 0;
  bool first_update = true;
  policy->train();
  for (size_t b = 0; b < minibatches.size(); ++b) {
    const int64_t epoch = epoch_of[b];
    const LossNormaliser normaliser{counts[2 * b], counts[2 * b + 1]};
    if (normaliser.tokens == 0) continue;
    auto parts = micro_batches(minibatches[b], options.micro_batch_size);
    const bool measure_gap = first_update;
    auto result = trainer.step(int64_t(parts.size()), [&](int64_t m) {
      std::vector<sampling::ScoredSequence> sequences;
      for (size_t i : parts[size_t(m)]) sequences.push_back(scored(batch.rollouts[i]));
      auto tensors = sampling::make_sequence_batch(sequences, device);
      AutocastScope autocast(options.bf16_autocast);
      auto current = sampling::token_logprobs(policy, tensors, options.temperature, options.vocab_limit, epoch == 0);
      PolicyLossInputs inputs{current.logprobs, tensors.old_logprobs, {}, tensors.advantages, tensors.mask};
      if (options.loss.kl_coef > 0) {
        c10::NoGradGuard no_grad;
        inputs.ref_logprobs =
            sampling::token_logprobs(*reference, tensors, options.temperature, options.vocab_limit, false).logprobs;
      }
      auto loss = policy_loss(inputs, options.loss, normaliser);
      sums.tokens += loss.sums.tokens;
      sums.clipped_low += loss.sums.clipped_low;
      sums.clipped_high += loss.sums.clipped_high;
      sums.dual_clipped += loss.sums.dual_clipped;
      sums.kl += loss.sums.kl;
      sums.pg += loss.sums.pg;
      c10::NoGradGuard no_grad;
      if (epoch == 0) {
        entropy_sum += (current.entropy * tensors.mask).sum().item<double>();
        entropy_tokens += loss.sums.tokens;
      }
      if (measure_gap) {
        auto gap = (current.logprobs.detach() - tensors.old_logprobs).abs() * tensors.mask;
        gap_sum += gap.sum().item<double>();
        gap_tokens += loss.sums.tokens;
        stats.logprob_gap_max = std::max(stats.logprob_gap_max, gap.max().item<double>());
      }
      return loss.loss;
    });
    first_update = false;
    stats.trained_tokens += int64_t(normaliser.tokens);
    if (result.skipped) {
      ++stats.skipped;
      continue;
    }
    ++stats.updates;
    stats.policy_loss += result.loss;
    stats.grad_norm += result.grad_norm;
    stats.lr = result.lr;
  }
  if (options.dp) {  // per-token metrics over every rank's tokens
    auto totals = all_reduce_values(*options.dp,
                                    {sums.tokens, sums.clipped_low, sums.clipped_high, sums.dual_clipped, sums.kl,
                                     sums.pg, entropy_sum, entropy_tokens, gap_sum, gap_tokens},
                                    distributed::ReduceOp::sum, device);
    sums = {totals[0], totals[1], totals[2], totals[3], totals[4], totals[5]};
    entropy_sum = totals[6];
    entropy_tokens = totals[7];
    gap_sum = totals[8];
    gap_tokens = totals[9];
    stats.logprob_gap_max =
        all_reduce_values(*options.dp, {stats.logprob_gap_max}, distributed::ReduceOp::max, device)[0];
  }
  if (stats.updates > 0) {
    stats.policy_loss /= double(stats.updates);
    stats.grad_norm /= double(stats.updates);
  }
  if (sums.tokens > 0) {
    stats.pg_loss = sums.pg / sums.tokens;
    stats.clip_frac_low = sums.clipped_low / sums.tokens;
    stats.clip_frac_high = sums.clipped_high / sums.tokens;
    stats.dual_clip_frac = sums.dual_clipped / sums.tokens;
    stats.kl = sums.kl / sums.tokens;
  }
  if (entropy_tokens > 0) stats.entropy = entropy_sum / entropy_tokens;
  if (gap_tokens > 0) stats.logprob_gap_mean = gap_sum / gap_tokens;
  return stats;
}

}  // namespace ember::train::rl
