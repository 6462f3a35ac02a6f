// The distillation divergences: one module for every mode (online, offline, on-policy).
//
// Per counted token, with student logits z and teacher logits y (or the teacher's stored top-k
// log-probs), both at temperature T:
//   s = softmax(z / T)                 student distribution
//   p = softmax(y / T)                 teacher distribution
//   forward KL   FKL = sum_v p_v (log p_v - log s_v)           (mode-covering)
//   reverse KL   RKL = sum_v s_v (log s_v - log p_v)           (mode-seeking)
//   JSD(beta)    M = beta p + (1 - beta) s
//                JSD = beta KL(p || M) + (1 - beta) KL(s || M)
// JSD follows the GKD / TRL convention: beta = 0 is EXACTLY forward KL and beta = 1 EXACTLY
// reverse KL (special-cased; the mixture formula itself vanishes at both ends, with
// JSD / beta -> FKL as beta -> 0 and JSD / (1 - beta) -> RKL as beta -> 1).
// With t2_scaling the divergence is multiplied by T^2 (classic KD keeps gradient scale across T).
//
// Teacher top-k (offline files, ids + log-probs at T = 1 of the full teacher softmax). The
// support is the teacher's k ids; the missing mass is handled in one of two ways:
//   renormalize  both distributions are restricted to the k ids and renormalised there:
//                p_k = softmax(log p_k / T),  s_k = softmax over k of (log s_k)
//                (the student's mass outside the k ids gets no gradient);
//   bucket       a (k+1)-th "tail" bucket holds each side's missing mass, 1 - sum_k p_k and
//                1 - sum_k s_k, and the divergence runs over the k + 1 buckets (the student is also
//                taught how much mass the teacher leaves outside its top-k). The teacher's tail is
//                tempered as if it were one token: exact at T = 1.
// With k = vocabulary both are exactly the dense divergence.
//
// Memory. Logits arrive in any dtype (bf16 under autocast) as [N, V]. They are processed in
// blocks of whole rows (a softmax needs the full vocabulary row) of at most chunk_elements
// values: each block is upcast to fp32, its divergence and its gradient w.r.t. the block's logits
// are computed at once, and the block's fp32 graph is freed. The returned loss carries the
// accumulated gradient (in the logits' dtype) through a surrogate term whose value is zero, so the
// fp32 working set is bounded by the block whatever N is.
//
// Normalisation. Functions return SUMS over counted tokens; recipes divide by the global count of
// counted tokens (the trainer's convention), so the loss does not depend on the batch layout.
#pragma once

#include <cstdint>
#include <string_view>

#include <ATen/Tensor.h>

namespace ember::train::distill {

enum class Divergence { kForwardKl, kReverseKl, kJsd };
enum class TailMode { kRenormalize, kBucket };

/// "forward_kl", "reverse_kl" or "jsd"; anything else throws ember::UsageError.
Divergence parse_divergence(std::string_view name);
/// "renormalize" or "bucket"; anything else throws ember::UsageError.
TailMode parse_tail_mode(std::string_view name);

struct DivergenceOptions {
  Divergence kind = Divergence::kForwardKl;
  double beta = 0.5;         ///< JSD only; 0 and 1 are exactly forward and reverse KL
  double temperature = 1.0;
  bool t2_scaling = false;   ///< multiply by temperature^2
  TailMode tail = TailMode::kRenormalize;  ///< top-k only
  int64_t chunk_elements = int64_t(1) << 22;  ///< fp32 values per block (rows x vocabulary)
};

/// A teacher's top-k distribution per token (offline files).
struct TeacherTopK {
  at::Tensor ids;       ///< [N, K] int64, distinct ids per row
  at::Tensor logprobs;  ///< [N, K] log-probabilities at temperature 1 (any float dtype)
};

struct DivergenceSums {
  at::Tensor loss;        ///< 0-dim fp32: sum over counted tokens, differentiable w.r.t. the student logits
  int64_t agreement = 0;  ///< counted tokens where the student's argmax is the teacher's (top-1)
  int64_t tokens = 0;     ///< counted tokens
};

/// Dense teacher: student_logits and teacher_logits [N, V] (already sliced to the shared
/// vocabulary), weights [N] (0 or 1: which rows count; undefined means all).
DivergenceSums dense_divergence(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                                const at::Tensor& weights, const DivergenceOptions& options);

/// Top-k teacher: student_logits [N, V], teacher [N, K] (ids < V), weights as above.
DivergenceSums topk_divergence(const at::Tensor& student_logits, const TeacherTopK& teacher, const at::Tensor& weights,
                               const DivergenceOptions& options);

/// The per-row divergence between two distributions given as log-probabilities over the same
/// support, [n, S] fp32 each (student first) -> [n]; the building block of both functions above.
at::Tensor divergence_rows(const at::Tensor& student_logprobs, const at::Tensor& teacher_logprobs,
                           Divergence kind, double beta);

}  // namespace ember::train::distill
