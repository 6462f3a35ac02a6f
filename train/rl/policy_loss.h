// The one policy-gradient surrogate of the GRPO family. GRPO, Dr. GRPO, DAPO and RLOO differ only
// in its options (and in how advantages are made, advantages.h).
//
// Per completion token t of sequence i, with A_i its advantage, log pi the policy being trained,
// log mu the policy that sampled the rollout (log-probs kept from generation):
//   rho_t   = exp(clamp(log pi(y_t) - log mu(y_t), -20, 20))
//   pg_t    = max(-A_i rho_t, -A_i clip(rho_t, 1 - eps_low, 1 + eps_high))
//   dual clip (c > 1, only where A_i < 0):   pg_t = min(pg_t, -A_i c)
//   l_t     = pg_t + beta * KL_t            (KL_t from kl.h against a frozen reference; beta = 0 off)
// With a single update per rollout rho = 1 and the gradient is -A_i grad log pi(y_t): plain
// REINFORCE with a group baseline. Clipping only bites on later minibatches and epochs.
//
// Aggregation over the optimizer step's whole batch, m_t the token mask (1 = counts):
//   token-mean               (DAPO)      L = sum_{i,t} m_t l_t / N_tokens
//   seq-mean-token-mean      (GRPO)      L = sum_i [ sum_t m_t l_t / n_i ] / N_seqs
//   seq-mean-token-sum-norm  (Dr. GRPO)  L = sum_{i,t} m_t l_t / (N_seqs * L_norm)
// n_i = sum_t m_t; N_tokens = sum_i n_i and N_seqs = the number of sequences with n_i > 0 are
// GLOBAL counts over every micro-batch and rank of the step, so each micro-batch's loss is its own
// share of the one batch loss and the sum over micro-batches and ranks is layout-independent.
// L_norm is a constant (the maximum response length).
//
// Reported per micro-batch as sums, so callers can combine them over micro-batches:
//   clipped_high: tokens with A > 0 and rho > 1 + eps_high (the upper clip is active)
//   clipped_low:  tokens with A < 0 and rho < 1 - eps_low  (the lower clip is active)
//   dual_clipped: tokens with A < 0 and rho > c            (the dual clip is active)
#pragma once

#include <string_view>

#include <ATen/Tensor.h>

#include "train/rl/kl.h"

namespace ember::train::rl {

enum class LossAggregation { kTokenMean, kSeqMeanTokenMean, kSeqMeanTokenSumNorm };

/// "token-mean", "seq-mean-token-mean" or "seq-mean-token-sum-norm"; else ember::UsageError.
LossAggregation parse_loss_aggregation(std::string_view name);

struct PolicyLossOptions {
  double eps_low = 0.2;
  double eps_high = 0.2;
  double dual_clip = 0;  ///< c; 0 turns the dual clip off, otherwise it must exceed 1
  double kl_coef = 0;    ///< beta of the KL term in the loss; 0 leaves it out
  KlEstimator kl_estimator = KlEstimator::kK3;
  LossAggregation aggregation = LossAggregation::kTokenMean;
  double norm_length = 1;  ///< L_norm of seq-mean-token-sum-norm
};

/// Global counts of the optimizer step's batch (see the header comment).
struct LossNormaliser {
  double tokens = 0;
  double sequences = 0;
};

/// One micro-batch of B sequences padded to T positions (prompt and padding positions masked out).
struct PolicyLossInputs {
  at::Tensor logprobs;      ///< [B, T] log pi of the sampled tokens, differentiable
  at::Tensor old_logprobs;  ///< [B, T] log mu from the rollout
  at::Tensor ref_logprobs;  ///< [B, T] log pi_ref; may be undefined when kl_coef is 0
  at::Tensor advantages;    ///< [B] per sequence (or [B, T] per token)
  at::Tensor mask;          ///< [B, T] 1 where the token counts, 0 elsewhere
};

/// Detached sums over the micro-batch's counted tokens.
struct PolicyLossSums {
  double tokens = 0;
  double clipped_low = 0;
  double clipped_high = 0;
  double dual_clipped = 0;
  double kl = 0;  ///< sum of KL_t (0 when there is no reference)
  double pg = 0;  ///< sum of pg_t
};

struct PolicyLoss {
  at::Tensor loss;  ///< 0-dim: this micro-batch's share of the batch loss
  PolicyLossSums sums;
};

/// The surrogate above. Throws ember::UsageError for eps < 0, eps_low >= 1, a dual clip in (0, 1],
/// a KL term without reference log-probs, or a non-positive normaliser.
PolicyLoss policy_loss(const PolicyLossInputs& inputs, const PolicyLossOptions& options,
                       const LossNormaliser& normaliser);

}  // namespace ember::train::rl
