// The chunked LM head + cross-entropy autograd Function (see fused_linear_cross_entropy.h for the
// maths). Per chunk of c tokens, in order:
//   logits = h_c W^T (compute dtype) -> logp = log_softmax(logits) in fp32 (the logits are freed)
//   loss  -= sum over valid rows of logp[t]
//   G      = exp(logp) written in the compute dtype; G[i, t_i] = p_{i t_i} - 1 (computed in fp32)
//   dh_c   = valid * (G W)         dW += G^T (valid * h_c)   (fp32 accumulator)
// Masking the [c, d] operands rather than G keeps every [c, V] pass count at: GEMM write,
// log-softmax read + write, exp read + write, and two GEMM reads of G.
// CPU fp32 turns the logits into G in place instead, one row at a time while the row is in cache
// (max, exp and sum, scale, minus one at the target; ignored rows become zeros, so no operand is
// masked): GEMM write, one read + write, and the two GEMM reads.
#include "model/kernels/fused_linear_cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/exp.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <c10/core/DispatchKeySet.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <fmt/ranges.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/error.h"
#include "model/kernels/cpu_vector_math.h"

namespace ember::model::kernels {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// Autocast's dtype for the inputs' device when autocast is on there, else the inputs' dtype.
at::ScalarType compute_dtype(const at::Tensor& hidden, const at::Tensor& weight) {
  const auto device = hidden.device().type();
  if (at::autocast::is_autocast_enabled(device)) return at::autocast::get_autocast_dtype(device);
  return at::promote_types(hidden.scalar_type(), weight.scalar_type());
}

/// CPU fp32, in place: each row of logits [c, V] with a target becomes softmax - onehot(target),
/// the gradient of its cross-entropy, and each ignored row zeros. Returns the summed
/// cross-entropy of the rows with a target (in row order: deterministic).
double cross_entropy_gradient_rows(at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index) {
  const int64_t rows = logits.size(0), vocab = logits.size(1);
  const auto ids = targets.contiguous();
  const int64_t* target = ids.const_data_ptr<int64_t>();
  for (int64_t r = 0; r < rows; ++r) {
    if (target[r] != ignore_index && (target[r] < 0 || target[r] >= vocab)) {
      fail("fused_linear_cross_entropy: target id {} at row {} is outside the vocabulary [0, {})", target[r], r, vocab);
    }
  }
  float* data = logits.mutable_data_ptr<float>();
  std::vector<double> row_loss(static_cast<size_t>(rows), 0.0);
  at::parallel_for(0, rows, 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* x = data + r * vocab;
      if (target[r] == ignore_index) {
        std::fill(x, x + vocab, 0.0f);
        continue;
      }
      const float picked = x[target[r]];
      const float shift = vec::max(x, vocab);
      const float sum = vec::exp_shifted_sum(x, vocab, shift);
      vec::scale(x, vocab, 1.0f / sum);
      x[target[r]] -= 1.0f;
      row_loss[size_t(r)] = double(shift) + std::log(double(sum)) - double(picked);
    }
  });
  double total = 0;
  for (double value : row_loss) total += value;
  return total;
}

struct FusedLinearCrossEntropyFunction : torch::autograd::Function<FusedLinearCrossEntropyFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                            const at::Tensor& targets, int64_t ignore_index, int64_t chunk_tokens) {
    const auto dtype = compute_dtype(hidden, weight);
    // The dtypes are chosen above; no op in here may be recast by autocast (log_softmax would be
    // fine, the fp32 dW accumulation would not).
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    const auto h = hidden.to(dtype);
    const auto w = weight.to(dtype);
    const int64_t n = h.size(0);
    auto loss = at::zeros({}, hidden.options().dtype(at::kFloat));
    auto dhidden = at::empty_like(hidden, at::MemoryFormat::Contiguous);
    at::Tensor dweight;  // fp32 [V, d]
    for (int64_t start = 0; start < n; start += chunk_tokens) {
      const int64_t rows = std::min(chunk_tokens, n - start);
      const auto h_c = h.narrow(0, start, rows);
      const auto t_c = targets.narrow(0, start, rows);
      if (dtype == at::kFloat && h.device().is_cpu()) {
        auto g = at::mm(h_c, w.t());  // logits, then G in place
        loss.add_(cross_entropy_gradient_rows(g, t_c, ignore_index));
        auto dh_c = dhidden.narrow(0, start, rows);
        at::mm_out(dh_c, g, w);
        auto part = at::mm(g.t(), h_c);
        if (dweight.defined()) {
          dweight.add_(part);
        } else {
          dweight = part;
        }
        continue;
      }
      const auto valid = t_c.ne(ignore_index).unsqueeze(1);             // [c, 1] bool
      const auto target = at::where(valid, t_c.unsqueeze(1), 0);         // [c, 1], ignored -> 0
      auto logp = at::log_softmax(at::mm(h_c, w.t()), 1, at::kFloat);  // [c, V] fp32
      const auto target_logp = logp.gather(1, target);                   // [c, 1]
      loss.sub_(target_logp.masked_fill(valid.logical_not(), 0).sum());
      auto g = at::empty(logp.sizes(), logp.options().dtype(dtype));
      at::exp_out(g, logp);
      logp.reset();
      g.scatter_(1, target, target_logp.exp().sub_(1).to(dtype));
      const auto mask = valid.to(dtype);
      dhidden.narrow(0, start, rows).copy_(at::mm(g, w).mul_(mask));
      auto part = at::mm(g.t(), h_c * mask);
      if (dweight.defined()) {
        dweight.add_(part);
      } else {
        dweight = part.to(at::kFloat);
      }
    }
    if (!dweight.defined()) dweight = at::zeros(weight.sizes(), weight.options().dtype(at::kFloat));
    ctx->saved_data["dhidden"] = dhidden;
    ctx->saved_data["dweight"] = dweight;
    ctx->saved_data["weight_dtype"] = int64_t(weight.scalar_type());
    return loss;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto& grad = grads[0];
    const auto dhidden = ctx->saved_data["dhidden"].toTensor();
    const auto dweight = ctx->saved_data["dweight"].toTensor();
    const auto weight_dtype = at::ScalarType(ctx->saved_data["weight_dtype"].toInt());
    return {dhidden * grad, (dweight * grad).to(weight_dtype), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor fused_linear_cross_entropy(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                      int64_t ignore_index, int64_t chunk_tokens) {
  if (hidden.dim() != 2 || weight.dim() != 2 || hidden.size(1) != weight.size(1)) {
    fail("fused_linear_cross_entropy: hidden [N, d] and weight [V, d] expected, got [{}] and [{}]",
         fmt::join(hidden.sizes(), ", "), fmt::join(weight.sizes(), ", "));
  }
  if (targets.dim() != 1 || targets.size(0) != hidden.size(0)) {
    fail("fused_linear_cross_entropy: targets [{}] expected, got [{}]", hidden.size(0),
         fmt::join(targets.sizes(), ", "));
  }
  if (chunk_tokens <= 0) fail("fused_linear_cross_entropy: chunk_tokens must be positive, got {}", chunk_tokens);
  return FusedLinearCrossEntropyFunction::apply(hidden, weight, targets, ignore_index, chunk_tokens);
}

}  // namespace ember::model::kernels
