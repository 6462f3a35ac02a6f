// The distillation divergences in blocks of rows with the gradient taken per block (see
// divergence.h).
#include "train/distill/divergence.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/logsumexp.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <c10/util/StringUtil.h>

#include "core/error.h"

namespace ember::train::distill {
namespace {

/// Probability mass below which a tail bucket is treated as this small (keeps log finite).
constexpr double kMinTailMass = 1e-20;

/// sum_v exp(a_v) (a_v - b_v) per row: KL(exp(a) || exp(b)) for log-probabilities a, b.
at::Tensor kl_rows(const at::Tensor& a, const at::Tensor& b) { return (a.exp() * (a - b)).sum(-1); }

/// log(1 - sum_k exp(logprobs_k)) per row, as a [n, 1] column, floored at log(kMinTailMass).
at::Tensor tail_logmass(const at::Tensor& logprobs) {
  auto mass = 1.0 - logprobs.exp().sum(-1, /*keepdim=*/true);
  return mass.clamp_min(kMinTailMass).log();
}

/// The loss of one block of rows: [n, V] fp32 student logits (a leaf) -> [n] per-row divergence.
using BlockLoss = std::function<at::Tensor(const at::Tensor& student_block, int64_t first_row, int64_t rows)>;
/// The teacher's top-1 id per row of a block, [n] int64.
using BlockTop1 = std::function<at::Tensor(int64_t first_row, int64_t rows)>;

DivergenceSums blockwise(const at::Tensor& student_logits, const at::Tensor& weights, const DivergenceOptions& options,
                         const BlockLoss& block_loss, const BlockTop1& teacher_top1) {
  if (student_logits.dim() != 2) fail("distillation expects student logits [N, V], got {} dimensions",
                                      student_logits.dim());
  const int64_t n = student_logits.size(0), vocab = student_logits.size(1);
  const auto weight = weights.defined() ? weights.reshape({n}).to(at::kFloat)
                                        : at::ones({n}, student_logits.options().dtype(at::kFloat));
  const bool needs_grad = student_logits.requires_grad() && c10::GradMode::is_enabled();
  const int64_t block = std::max<int64_t>(1, options.chunk_elements / std::max<int64_t>(1, vocab));
  const double scale = options.t2_scaling ? options.temperature * options.temperature : 1.0;

  auto total = at::zeros({}, weight.options());
  std::vector<at::Tensor> gradients;
  DivergenceSums sums;
  for (int64_t first = 0; first < n; first += block) {
    const int64_t rows = std::min(block, n - first);
    const auto block_weight = weight.narrow(0, first, rows);
    auto student_block = student_logits.detach().narrow(0, first, rows).to(at::kFloat);
    at::Tensor block_sum;
    {
      c10::AutoGradMode grad_mode(needs_grad);
      if (needs_grad) student_block.requires_grad_(true);
      block_sum = (block_loss(student_block, first, rows) * block_weight).sum() * scale;
      if (needs_grad) {
        auto gradient = torch::autograd::grad({block_sum}, {student_block})[0];
        gradients.push_back(gradient.to(student_logits.scalar_type()));
      }
    }
    total = total + block_sum.detach();
    auto agree = (student_block.detach().argmax(-1) == teacher_top1(first, rows)).to(at::kFloat) * block_weight;
    sums.agreement += int64_t(std::llround(agree.sum().item<double>()));
  }
  sums.tokens = int64_t(std::llround(weight.sum().item<double>()));
  if (needs_grad) {
    // Value: total. Gradient w.r.t. the logits: the blocks' gradients (the surrogate is zero-valued).
    auto surrogate = (student_logits * at::cat(gradients, 0)).sum().to(at::kFloat);
    sums.loss = total + surrogate - surrogate.detach();
  } else {
    sums.loss = total;
  }
  return sums;
}

void check_options(const DivergenceOptions& options) {
  if (!(options.temperature > 0)) fail_usage("distillation temperature must be positive, got {}", options.temperature);
  if (options.beta < 0 || options.beta > 1) fail_usage("JSD beta must lie in [0, 1], got {}", options.beta);
}

}  // namespace

Divergence parse_divergence(std::string_view name) {
  if (name == "forward_kl") return Divergence::kForwardKl;
  if (name == "reverse_kl") return Divergence::kReverseKl;
  if (name == "jsd") return Divergence::kJsd;
  fail_usage("unknown divergence '{}': use forward_kl, reverse_kl or jsd", name);
}

TailMode parse_tail_mode(std::string_view name) {
  if (name == "renormalize") return TailMode::kRenormalize;
  if (name == "bucket") return TailMode::kBucket;
  fail_usage("unknown missing-mass handling '{}': use renormalize or bucket", name);
}

at::Tensor divergence_rows(const at::Tensor& student_logprobs, const at::Tensor& teacher_logprobs, Divergence kind,
                           double beta) {
  if (kind == Divergence::kForwardKl || (kind == Divergence::kJsd && beta == 0)) {
    return kl_rows(teacher_logprobs, student_logprobs);
  }
  if (kind == Divergence::kReverseKl || (kind == Divergence::kJsd && beta == 1)) {
    return kl_rows(student_logprobs, teacher_logprobs);
  }
  auto mixture = at::logsumexp(at::stack({teacher_logprobs + std::log(beta), student_logprobs + std::log1p(-beta)}), 0);
  return beta * kl_rows(teacher_logprobs, mixture) + (1 - beta) * kl_rows(student_logprobs, mixture);
}

DivergenceSums dense_divergence(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                                const at::Tensor& weights, const DivergenceOptions& options) {
  check_options(options);
  if (teacher_logits.sizes() != student_logits.sizes()) {
    fail("teacher logits {} and student logits {} differ in shape (slice both to the shared vocabulary)",
         c10::str(teacher_logits.sizes()), c10::str(student_logits.sizes()));
  }
  const auto teacher = teacher_logits.detach();
  const double t = options.temperature;
  auto block_loss = [&](const at::Tensor& student_block, int64_t first, int64_t rows) {
    auto teacher_block = at::log_softmax(teacher.narrow(0, first, rows).to(at::kFloat) / t, -1);
    return divergence_rows(at::log_softmax(student_block / t, -1), teacher_block, options.kind, options.beta);
  };
  auto top1 = [&](int64_t first, int64_t rows) { return teacher.narrow(0, first, rows).argmax(-1); };
  return blockwise(student_logits, weights, options, block_loss, top1);
}

DivergenceSums topk_divergence(const at::Tensor& student_logits, const TeacherTopK& teacher, const at::Tensor& weights,
                               const DivergenceOptions& options) {
  check_options(options);
  if (teacher.ids.dim() != 2 || teacher.ids.sizes() != teacher.logprobs.sizes() ||
      teacher.ids.size(0) != student_logits.size(0)) {
    fail("teacher top-k ids {} and log-probs {} do not match the student's {} tokens", c10::str(teacher.ids.sizes()),
         c10::str(teacher.logprobs.sizes()), student_logits.size(0));
  }
  const auto ids = teacher.ids.to(student_logits.device(), at::kLong);
  const auto logprobs = teacher.logprobs.to(student_logits.device(), at::kFloat);
  const double t = options.temperature;
  auto block_loss = [&](const at::Tensor& student_block, int64_t first, int64_t rows) {
    const auto block_ids = ids.narrow(0, first, rows);
    const auto stored = logprobs.narrow(0, first, rows);
    auto student = at::log_softmax(student_block / t, -1).gather(-1, block_ids);
    at::Tensor teacher_support;
    if (options.tail == TailMode::kRenormalize) {
      teacher_support = at::log_softmax(stored / t, -1);
      student = student - at::logsumexp(student, {-1}, /*keepdim=*/true);
    } else {
      teacher_support = at::log_softmax(at::cat({stored, tail_logmass(stored)}, -1) / t, -1);
      student = at::cat({student, tail_logmass(student)}, -1);
    }
    return divergence_rows(student, teacher_support, options.kind, options.beta);
  };
  auto top1 = [&](int64_t first, int64_t rows) {
    auto block_ids = ids.narrow(0, first, rows);
    return block_ids.gather(-1, logprobs.narrow(0, first, rows).argmax(-1, /*keepdim=*/true)).squeeze(-1);
  };
  return blockwise(student_logits, weights, options, block_loss, top1);
}

}  // namespace ember::train::distill
