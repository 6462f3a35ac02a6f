// Causal self-attention on the CPU in fp32 (see cpu_attention.h).
//
// Maths, per query head h and its key/value head (H / Hkv query heads share one), with
// c = 1 / sqrt(D), query rows i and the keys each sees, f_i <= j <= i (f_i = 0, or the first
// token of i's document with key_start):
//   S = c Q K^T        L_i = log sum_{f_i<=j<=i} exp(S_ij)   P_ij = exp(S_ij - L_i)        O = P V
// backward, given dO:
//   delta_i = sum_d dO_id O_id       dV = P^T dO       dP = dO V^T       dS_ij = P_ij (dP_ij - delta_i)
//   dQ = c dS K                      dK = c dS^T Q
// (delta_i = sum_j P_ij dP_ij, the softmax's own term, read off O instead of P.)
//
// Blocking: queries go in blocks of kQueryBlock rows and a block's keys stop at its last row (and
// start at its lowest f_i), so the causal triangle costs (1 + 1 / blocks) / 2 of the full square,
// packed documents less, and a block's scores (kQueryBlock x T floats) stay in cache. The forward pass keeps L only; the backward pass
// recomputes P from it (as flash attention does), so memory is O(T) per head beyond the inputs.
// Every product is one sgemm on a block; the softmax pieces are cpu_vector_math.h's loops.
//
// Threads: the forward pass splits (batch, head) pairs over at::parallel_for, the backward pass
// (batch, key/value head) pairs, each of which owns its rows of dK and dV and runs its query
// heads in order. BLAS calls inside a parallel region run on their caller's thread. No sum
// depends on the thread count, so results are deterministic.
#include "model/kernels/cpu_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/csrc/autograd/custom_function.h>

#include "model/kernels/cpu_vector_math.h"

#if EMBER_HAVE_BLAS_SGEMM
// The Fortran BLAS entry point (column-major, 32-bit integers) that LibTorch's CPU library exports
// from the BLAS it was built with (MKL in the x86-64 wheels).
extern "C" void sgemm_(const char* trans_a, const char* trans_b, const int* m, const int* n, const int* k,
                       const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                       const float* beta, float* c, const int* ldc);
#endif

namespace ember::model::kernels {

namespace {

constexpr int64_t kQueryBlock = 64;  ///< query rows per block of scores

#if EMBER_HAVE_BLAS_SGEMM

/// C = alpha op(A) op(B) + beta C for row-major matrices: the column-major BLAS computes the
/// transposed product C^T = op(B)^T op(A)^T on the same memory.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const char ta = trans_a ? 'T' : 'N', tb = trans_b ? 'T' : 'N';
  const int mi = int(m), ni = int(n), ki = int(k), la = int(lda), lb = int(ldb), lc = int(ldc);
  sgemm_(&tb, &ta, &ni, &mi, &ki, &alpha, b, &lb, a, &la, &beta, c, &lc);
}

/// One head's [T, D] matrix of a [B, heads, T, D] tensor with a unit last stride: its rows are
/// `row_stride` floats apart.
template <typename Float>
struct HeadRows {
  Float* data;
  int64_t row_stride;
  Float* row(int64_t i) const { return data + i * row_stride; }
};

template <typename Float>
HeadRows<Float> head_rows(Float* base, const at::Tensor& t, int64_t b, int64_t h) {
  return {base + b * t.stride(0) + h * t.stride(1), t.stride(2)};
}

/// [B, H, T, D] viewed from fresh [B, T, H, D] memory.
at::Tensor empty_token_major(const at::Tensor& like) {
  return at::empty({like.size(0), like.size(2), like.size(1), like.size(3)}, like.options()).transpose(1, 2);
}

/// A block of query rows [r0, r0 + rows) and the keys it reads, [lo, r0 + rows): `width` columns
/// of scores. Row i of the block sees columns [first(i), last(i)].
struct QueryBlock {
  int64_t r0, rows, lo, width;
  const int64_t* starts;  ///< this batch row's first visible keys, or null (all 0)
  int64_t first(int64_t i) const { return (starts ? starts[r0 + i] : 0) - lo; }
  int64_t last(int64_t i) const { return r0 + i - lo; }
  int64_t visible(int64_t i) const { return last(i) - first(i) + 1; }
  /// Zeros the scores of row p (row i) outside its visible columns.
  void zero_hidden(float* p, int64_t i) const {
    std::fill(p, p + first(i), 0.0f);
    std::fill(p + last(i) + 1, p + width, 0.0f);
  }
};

/// The first key each query may see ([B, T] row-major; null: 0 for every query).
struct KeyStarts {
  const int64_t* data;
  int64_t tokens;
  /// The query block at r0 of batch row b; its keys start at the lowest first key of its rows.
  QueryBlock block(int64_t b, int64_t r0) const {
    const int64_t rows = std::min(kQueryBlock, tokens - r0);
    const int64_t* row_starts = data ? data + b * tokens : nullptr;
    int64_t lo = row_starts ? row_starts[r0] : 0;
    for (int64_t i = 1; i < rows && row_starts; ++i) lo = std::min(lo, row_starts[r0 + i]);
    return {r0, rows, lo, r0 + rows - lo, row_starts};
  }
};

/// The block's scores S = c Q K^T, rows x width, row-major.
void block_scores(const HeadRows<const float>& q, const HeadRows<const float>& k, const QueryBlock& blk, int64_t dim,
                  float c, float* scores) {
  gemm(false, true, blk.rows, blk.width, dim, c, q.row(blk.r0), q.row_stride, k.row(blk.lo), k.row_stride, 0.0f,
       scores, blk.width);
}

void forward_pass(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const KeyStarts& starts,
                  const at::Tensor& out, const at::Tensor& log_sum_exp) {
  const int64_t batch = q.size(0), heads = q.size(1), tokens = q.size(2), dim = q.size(3);
  const int64_t group = heads / k.size(1);
  const float c = 1.0f / std::sqrt(float(dim));
  const float *qp = q.const_data_ptr<float>(), *kp = k.const_data_ptr<float>(), *vp = v.const_data_ptr<float>();
  float* op = out.mutable_data_ptr<float>();
  float* lse = log_sum_exp.mutable_data_ptr<float>();
  at::parallel_for(0, batch * heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(size_t(std::min(kQueryBlock, tokens) * tokens));
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t b = unit / heads, h = unit % heads;
      const auto qh = head_rows(qp, q, b, h), kh = head_rows(kp, k, b, h / group), vh = head_rows(vp, v, b, h / group);
      const auto oh = head_rows(op, out, b, h);
      float* lse_h = lse + unit * tokens;
      for (int64_t r0 = 0; r0 < tokens; r0 += kQueryBlock) {
        const QueryBlock blk = starts.block(b, r0);
        block_scores(qh, kh, blk, dim, c, scores.data());
        for (int64_t i = 0; i < blk.rows; ++i) {
          float* p = scores.data() + i * blk.width;
          float* seen = p + blk.first(i);
          const float shift = vec::max(seen, blk.visible(i));
          const float sum = vec::exp_shifted_sum(seen, blk.visible(i), shift);
          vec::scale(seen, blk.visible(i), 1.0f / sum);
          blk.zero_hidden(p, i);
          lse_h[r0 + i] = shift + std::log(sum);
        }
        gemm(false, false, blk.rows, dim, blk.width, 1.0f, scores.data(), blk.width, vh.row(blk.lo), vh.row_stride,
             0.0f, oh.row(r0), oh.row_stride);
      }
    }
  });
}

struct Gradients {
  at::Tensor dq, dk, dv;
};

Gradients backward_pass(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const KeyStarts& starts,
                        const at::Tensor& out, const at::Tensor& log_sum_exp, const at::Tensor& dout) {
  const int64_t batch = q.size(0), heads = q.size(1), kv_heads = k.size(1), tokens = q.size(2), dim = q.size(3);
  const int64_t group = heads / kv_heads;
  const float c = 1.0f / std::sqrt(float(dim));
  Gradients grads{empty_token_major(q), at::zeros(k.sizes(), k.options()), at::zeros(v.sizes(), v.options())};
  const float *qp = q.const_data_ptr<float>(), *kp = k.const_data_ptr<float>(), *vp = v.const_data_ptr<float>();
  const float *op = out.const_data_ptr<float>(), *dop = dout.const_data_ptr<float>();
  const float* lse = log_sum_exp.const_data_ptr<float>();
  float *dqp = grads.dq.mutable_data_ptr<float>(), *dkp = grads.dk.mutable_data_ptr<float>(),
        *dvp = grads.dv.mutable_data_ptr<float>();
  at::parallel_for(0, batch * kv_heads, 1, [&](int64_t begin, int64_t end) {
    const size_t block = size_t(std::min(kQueryBlock, tokens) * tokens);
    std::vector<float> probs(block), dprobs(block), delta(static_cast<size_t>(tokens));
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t b = unit / kv_heads, kvh = unit % kv_heads;
      const auto kh = head_rows(kp, k, b, kvh), vh = head_rows(vp, v, b, kvh);
      const auto dkh = head_rows(dkp, grads.dk, b, kvh), dvh = head_rows(dvp, grads.dv, b, kvh);
      for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
        const auto qh = head_rows(qp, q, b, h), oh = head_rows(op, out, b, h), doh = head_rows(dop, dout, b, h);
        const auto dqh = head_rows(dqp, grads.dq, b, h);
        const float* lse_h = lse + (b * heads + h) * tokens;
        for (int64_t i = 0; i < tokens; ++i) delta[size_t(i)] = vec::dot(doh.row(i), oh.row(i), dim);
        for (int64_t r0 = 0; r0 < tokens; r0 += kQueryBlock) {
          const QueryBlock blk = starts.block(b, r0);
          const int64_t rows = blk.rows, lo = blk.lo, width = blk.width;
          block_scores(qh, kh, blk, dim, c, probs.data());
          for (int64_t i = 0; i < rows; ++i) {
            float* p = probs.data() + i * width;
            vec::exp_shifted_sum(p + blk.first(i), blk.visible(i), lse_h[r0 + i]);
            blk.zero_hidden(p, i);
          }
          // dV[lo, lo + width) += P^T dO;  dP = dO V^T, then dS in place
          gemm(true, false, width, dim, rows, 1.0f, probs.data(), width, doh.row(r0), doh.row_stride, 1.0f,
               dvh.row(lo), dvh.row_stride);
          gemm(false, true, rows, width, dim, 1.0f, doh.row(r0), doh.row_stride, vh.row(lo), vh.row_stride, 0.0f,
               dprobs.data(), width);
          for (int64_t i = 0; i < rows; ++i)
            vec::softmax_grad(dprobs.data() + i * width, probs.data() + i * width, delta[size_t(r0 + i)], width);
          // dQ rows = c dS K;  dK[lo, lo + width) += c dS^T Q
          gemm(false, false, rows, dim, width, c, dprobs.data(), width, kh.row(lo), kh.row_stride, 0.0f,
               dqh.row(r0), dqh.row_stride);
          gemm(true, false, width, dim, rows, c, dprobs.data(), width, qh.row(r0), qh.row_stride, 1.0f, dkh.row(lo),
               dkh.row_stride);
        }
      }
    }
  });
  return grads;
}

at::Tensor unit_last_stride(const at::Tensor& x) { return x.stride(-1) == 1 ? x : x.contiguous(); }

class CausalAttentionFunction : public torch::autograd::Function<CausalAttentionFunction> {
 public:
  /// key_start: [B x T] first visible keys, row-major, or empty for plain causal attention.
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k,
                            const at::Tensor& v, std::vector<int64_t> key_start) {
    auto out = empty_token_major(q);
    auto log_sum_exp = at::empty({q.size(0), q.size(1), q.size(2)}, q.options());
    forward_pass(q, k, v, starts_of(key_start, q.size(2)), out, log_sum_exp);
    ctx->save_for_backward({q, k, v, out, log_sum_exp});
    ctx->saved_data["key_start"] = std::move(key_start);
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto key_start = ctx->saved_data["key_start"].toIntVector();
    auto [dq, dk, dv] = backward_pass(saved[0], saved[1], saved[2], starts_of(key_start, saved[0].size(2)), saved[3],
                                      saved[4], unit_last_stride(grads[0]));
    return {dq, dk, dv, at::Tensor()};
  }

 private:
  static KeyStarts starts_of(const std::vector<int64_t>& key_start, int64_t tokens) {
    return {key_start.empty() ? nullptr : key_start.data(), tokens};
  }
};

#endif  // EMBER_HAVE_BLAS_SGEMM

/// Whether the kernel implements these operands (the predicate below without the policy).
bool implements(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
#if EMBER_HAVE_BLAS_SGEMM
  auto cpu_fp32 = [](const at::Tensor& t) {
    return t.defined() && t.device().is_cpu() && t.scalar_type() == at::kFloat && t.dim() == 4;
  };
  if (!cpu_fp32(q) || !cpu_fp32(k) || !cpu_fp32(v)) return false;
  const bool shapes = k.sizes() == v.sizes() && q.size(0) == k.size(0) && q.size(2) == k.size(2) &&
                      q.size(3) == k.size(3) && k.size(1) > 0 && q.size(1) % k.size(1) == 0 && q.size(2) > 0;
  // BLAS takes 32-bit sizes and leading dimensions.
  constexpr int64_t int_max = std::numeric_limits<int>::max();
  return shapes && q.numel() < int_max && k.numel() < int_max;
#else
  (void)q, (void)k, (void)v;
  return false;
#endif
}

}  // namespace

bool cpu_causal_attention_applies(const KernelPolicy& policy, const at::Tensor& q, const at::Tensor& k,
                                  const at::Tensor& v) {
  return policy.fused_kernels && implements(q, k, v);
}

at::Tensor cpu_causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                const at::Tensor& key_start) {
  TORCH_CHECK(implements(q, k, v), "cpu_causal_attention: inputs it does not take: q ", q.sizes(),
              ", k ", k.sizes(), ", v ", v.sizes());
#if EMBER_HAVE_BLAS_SGEMM
  std::vector<int64_t> starts;
  if (key_start.defined()) {
    const int64_t batch = q.size(0), tokens = q.size(2);
    TORCH_CHECK(key_start.dim() == 2 && key_start.size(0) == batch && key_start.size(1) == tokens,
                "cpu_causal_attention: key_start must be [", batch, ", ", tokens, "], got ", key_start.sizes());
    const auto values = key_start.to(at::kCPU, at::kLong).contiguous();
    starts.assign(values.const_data_ptr<int64_t>(), values.const_data_ptr<int64_t>() + values.numel());
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < tokens; ++i) {
        const int64_t first = starts[size_t(b * tokens + i)];
        TORCH_CHECK(first >= 0 && first <= i, "cpu_causal_attention: key_start[", b, ", ", i, "] = ", first,
                    " is not in [0, ", i, "]");
      }
  }
  return CausalAttentionFunction::apply(unit_last_stride(q), unit_last_stride(k), unit_last_stride(v),
                                        std::move(starts));
#else
  return {};
#endif
}

}  // namespace ember::model::kernels
