// Fused RMSNorm, RoPE and SwiGLU with their backward passes (see fused_kernels.h): the CPU fp32
// kernels, the autograd Functions that pick them or the CUDA ones (fused_kernels_cuda.h) by the
// input's device, and the predicates that say where they apply.
#include "model/kernels/fused_kernels.h"

#include <cmath>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <torch/csrc/autograd/custom_function.h>

#include "model/kernels/cpu_vector_math.h"
#include "model/kernels/reference_ops.h"

#if EMBER_HAVE_CUDA
#include "model/kernels/fused_kernels_cuda.h"
#endif

namespace ember::model::kernels {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kRowsPerBlock = 32;  ///< rows per partial sum of dweight (fixed: deterministic)

/// A tensor with the strides of x when its last one is 1 (kept by empty_like for dense layouts).
at::Tensor unit_last_stride(const at::Tensor& x) { return x.stride(-1) == 1 ? x : x.contiguous(); }

#if EMBER_HAVE_CUDA
/// x itself when its memory is rows of contiguous elements (dense, unit last stride: e.g. the
/// transposed q and k views), else a contiguous copy. The CUDA RMSNorm works on memory rows, so
/// the output keeps x's layout as the composite's does.
at::Tensor memory_rows(const at::Tensor& x) {
  return x.stride(-1) == 1 && x.is_non_overlapping_and_dense() ? x : x.contiguous();
}

/// t laid out with like's strides (a copy only when they differ).
at::Tensor with_layout_of(const at::Tensor& t, const at::Tensor& like) {
  return t.strides() == like.strides() ? t : at::empty_like(like, t.options()).copy_(t);
}
#endif

// ---- RMSNorm ----------------------------------------------------------------------------------

void rms_norm_forward_rows(const float* x, const float* weight, float* y, float* rstd, int64_t rows, int64_t dim,
                           double eps) {
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const float* xr = x + n * dim;
      float* yr = y + n * dim;
      double squares = 0;
      for (int64_t c = 0; c < dim; ++c) squares += double(xr[c]) * double(xr[c]);
      const float r = float(1.0 / std::sqrt(squares / double(dim) + eps));
      rstd[n] = r;
      for (int64_t c = 0; c < dim; ++c) yr[c] = weight[c] * (xr[c] * r);
    }
  });
}

/// dx per row, and per block of kRowsPerBlock rows the partial sums of dy * xhat.
void rms_norm_backward_rows(const float* dy, const float* x, const float* weight, const float* rstd, float* dx,
                            float* dweight_blocks, int64_t rows, int64_t dim) {
  const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  at::parallel_for(0, blocks, 1, [&](int64_t block_begin, int64_t block_end) {
    for (int64_t block = block_begin; block < block_end; ++block) {
      float* partial = dweight_blocks + block * dim;
      for (int64_t c = 0; c < dim; ++c) partial[c] = 0;
      const int64_t row_end = std::min(rows, (block + 1) * kRowsPerBlock);
      for (int64_t n = block * kRowsPerBlock; n < row_end; ++n) {
        const float* dyr = dy + n * dim;
        const float* xr = x + n * dim;
        float* dxr = dx + n * dim;
        const float r = rstd[n];
        double dot = 0;  // sum of g * xhat
        for (int64_t c = 0; c < dim; ++c) {
          const float xhat = xr[c] * r;
          dot += double(dyr[c] * weight[c]) * double(xhat);
          partial[c] += dyr[c] * xhat;
        }
        const float mean_dot = float(dot / double(dim));
        for (int64_t c = 0; c < dim; ++c) dxr[c] = r * (dyr[c] * weight[c] - xr[c] * r * mean_dot);
      }
    }
  });
}

class RmsNormFunction : public torch::autograd::Function<RmsNormFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, double eps) {
#if EMBER_HAVE_CUDA
    if (x.is_cuda()) {
      auto [y, rstd] = fused_cuda::rms_norm_forward(x, weight, eps);
      ctx->save_for_backward({x, weight, rstd});
      return y;
    }
#endif
    const int64_t dim = x.size(-1), rows = x.numel() / dim;
    auto y = at::empty_like(x);
    auto rstd = at::empty({rows}, x.options());
    rms_norm_forward_rows(x.const_data_ptr<float>(), weight.const_data_ptr<float>(), y.mutable_data_ptr<float>(),
                          rstd.mutable_data_ptr<float>(), rows, dim, eps);
    ctx->save_for_backward({x, weight, rstd});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1], &rstd = saved[2];
#if EMBER_HAVE_CUDA
    if (x.is_cuda()) {
      auto [dx, dweight] = fused_cuda::rms_norm_backward(with_layout_of(grads[0], x), x, weight, rstd);
      return {dx, dweight, at::Tensor()};
    }
#endif
    auto dy = grads[0].contiguous();
    const int64_t dim = x.size(-1), rows = x.numel() / dim;
    const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
    auto dx = at::empty_like(x);
    auto partials = at::empty({blocks, dim}, x.options());
    rms_norm_backward_rows(dy.const_data_ptr<float>(), x.const_data_ptr<float>(), weight.const_data_ptr<float>(),
                           rstd.const_data_ptr<float>(), dx.mutable_data_ptr<float>(),
                           partials.mutable_data_ptr<float>(), rows, dim);
    // dweight: the block partials summed in block order, columns in parallel.
    auto dweight = at::empty({dim}, x.options());
    const float* p = partials.const_data_ptr<float>();
    float* dw = dweight.mutable_data_ptr<float>();
    at::parallel_for(0, dim, 64, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        float sum = 0;
        for (int64_t b = 0; b < blocks; ++b) sum += p[b * dim + c];
        dw[c] = sum;
      }
    });
    return {dx, dweight, at::Tensor()};
  }
};

// ---- RoPE -------------------------------------------------------------------------------------

/// out = rotation of in over rows (b, h, t); `transposed` selects the backward rotation.
void rope_rows(const at::Tensor& in, at::Tensor& out, const float* cos, const float* sin, bool transposed) {
  const int64_t batch = in.size(0), heads = in.size(1), tokens = in.size(2), d = in.size(3), half = d / 2;
  const float* src = in.const_data_ptr<float>();
  float* dst = out.mutable_data_ptr<float>();
  const auto is = in.strides(), os = out.strides();
  at::parallel_for(0, batch * heads * tokens, 64, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t t = row % tokens, h = (row / tokens) % heads, b = row / (tokens * heads);
      const float* x = src + b * is[0] + h * is[1] + t * is[2];
      float* y = dst + b * os[0] + h * os[1] + t * os[2];
      const float* c = cos + (b * tokens + t) * d;
      const float* s = sin + (b * tokens + t) * d;
      if (!transposed) {
        for (int64_t i = 0; i < half; ++i) {
          y[i] = x[i] * c[i] - x[i + half] * s[i];
          y[i + half] = x[i + half] * c[i + half] + x[i] * s[i + half];
        }
      } else {
        for (int64_t i = 0; i < half; ++i) {
          y[i] = x[i] * c[i] + x[i + half] * s[i + half];
          y[i + half] = x[i + half] * c[i + half] - x[i] * s[i];
        }
      }
    }
  });
}

class RopeFunction : public torch::autograd::Function<RopeFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    auto input = unit_last_stride(x);
#if EMBER_HAVE_CUDA
    if (x.is_cuda()) {
      ctx->save_for_backward({cos, sin});
      ctx->saved_data["x_dtype"] = int64_t(x.scalar_type());
      return fused_cuda::rope(input, cos, sin, c10::promoteTypes(x.scalar_type(), cos.scalar_type()),
                              /*transposed=*/false);
    }
#endif
    auto y = at::empty_like(input);
    rope_rows(input, y, cos.const_data_ptr<float>(), sin.const_data_ptr<float>(), /*transposed=*/false);
    ctx->save_for_backward({cos, sin});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto dy = unit_last_stride(grads[0]);
#if EMBER_HAVE_CUDA
    if (dy.is_cuda()) {
      const auto x_dtype = at::ScalarType(ctx->saved_data["x_dtype"].toInt());
      return {fused_cuda::rope(dy, saved[0], saved[1], x_dtype, /*transposed=*/true), at::Tensor(), at::Tensor()};
    }
#endif
    auto dx = at::empty_like(dy);
    rope_rows(dy, dx, saved[0].const_data_ptr<float>(), saved[1].const_data_ptr<float>(), /*transposed=*/true);
    return {dx, at::Tensor(), at::Tensor()};
  }
};

// ---- SwiGLU -----------------------------------------------------------------------------------

class SwigluFunction : public torch::autograd::Function<SwigluFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gate, const at::Tensor& up) {
    ctx->save_for_backward({gate, up});
#if EMBER_HAVE_CUDA
    if (gate.is_cuda()) return fused_cuda::swiglu_forward(gate, up);
#endif
    auto h = at::empty_like(gate);
    const float* g = gate.const_data_ptr<float>();
    const float* u = up.const_data_ptr<float>();
    float* out = h.mutable_data_ptr<float>();
    at::parallel_for(0, gate.numel(), 4096, [&](int64_t begin, int64_t end) {
      vec::swiglu(g + begin, u + begin, out + begin, end - begin);
    });
    return h;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto dh = grads[0].contiguous();
#if EMBER_HAVE_CUDA
    if (dh.is_cuda()) {
      auto dgate = at::empty_like(saved[0]), dup = at::empty_like(saved[1]);
      fused_cuda::swiglu_backward(dh, saved[0], saved[1], dgate, dup);
      return {dgate, dup};
    }
#endif
    auto dgate = at::empty_like(saved[0]), dup = at::empty_like(saved[1]);
    const float* g = saved[0].const_data_ptr<float>();
    const float* u = saved[1].const_data_ptr<float>();
    const float* d = dh.const_data_ptr<float>();
    float* dg = dgate.mutable_data_ptr<float>();
    float* du = dup.mutable_data_ptr<float>();
    at::parallel_for(0, dh.numel(), 4096, [&](int64_t begin, int64_t end) {
      vec::swiglu_backward(d + begin, g + begin, u + begin, dg + begin, du + begin, end - begin);
    });
    return {dgate, dup};
  }
};

#if EMBER_HAVE_CUDA
/// SwiGLU of a packed gate|up tensor [..., 2F] (CUDA): the kernels read both halves in place and
/// write the two gradients into the halves of one [..., 2F] gradient, so neither direction copies.
class SwigluPackedFunction : public torch::autograd::Function<SwigluPackedFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gate_up) {
    ctx->save_for_backward({gate_up});
    const int64_t width = gate_up.size(-1) / 2;
    return fused_cuda::swiglu_forward(gate_up.narrow(-1, 0, width), gate_up.narrow(-1, width, width));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto gate_up = ctx->get_saved_variables()[0];
    const int64_t width = gate_up.size(-1) / 2;
    auto dgate_up = at::empty(gate_up.sizes(), gate_up.options());
    fused_cuda::swiglu_backward(grads[0].contiguous(), gate_up.narrow(-1, 0, width), gate_up.narrow(-1, width, width),
                                dgate_up.narrow(-1, 0, width), dgate_up.narrow(-1, width, width));
    return {dgate_up};
  }
};
#endif

/// The device and dtype cases the kernels implement (fused_kernels_apply without the policy).
bool implemented_for(const at::Tensor& x) {
  const auto dtype = x.scalar_type();
  if (x.device().is_cpu()) return dtype == at::kFloat;
#if EMBER_HAVE_CUDA
  if (x.is_cuda()) return dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf;
#endif
  return false;
}

/// `other` on x's device in x's dtype or fp32 (eager promotion then gives fp32, as the kernels do).
bool partner_fits(const at::Tensor& x, const at::Tensor& other) {
  return implemented_for(x) && implemented_for(other) && other.device() == x.device() &&
         (other.scalar_type() == x.scalar_type() || other.scalar_type() == at::kFloat);
}

/// fused_swiglu_applies without the policy.
bool swiglu_implemented_for(const at::Tensor& gate, const at::Tensor& up) {
  return partner_fits(gate, up) && up.scalar_type() == gate.scalar_type() && up.sizes() == gate.sizes();
}

}  // namespace

bool fused_kernels_apply(const KernelPolicy& policy, const at::Tensor& x) {
  return policy.fused_kernels && implemented_for(x);
}

bool fused_rms_norm_applies(const KernelPolicy& policy, const at::Tensor& x, const at::Tensor& weight) {
  return policy.fused_kernels && partner_fits(x, weight);
}

bool fused_rope_applies(const KernelPolicy& policy, const at::Tensor& x, const at::Tensor& cos) {
  return policy.fused_kernels && x.dim() == 4 && partner_fits(x, cos);
}

bool fused_swiglu_applies(const KernelPolicy& policy, const at::Tensor& gate, const at::Tensor& up) {
  return policy.fused_kernels && swiglu_implemented_for(gate, up);
}

at::Tensor fused_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
#if EMBER_HAVE_CUDA
  if (x.is_cuda()) return RmsNormFunction::apply(memory_rows(x), weight.contiguous(), eps);
#endif
  return RmsNormFunction::apply(x.contiguous(), weight, eps);
}

at::Tensor fused_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const std::vector<int64_t> table{x.size(0), 1, x.size(2), x.size(3)};
#if EMBER_HAVE_CUDA
  if (x.is_cuda()) {
    auto c = unit_last_stride(cos.expand(table)), s = unit_last_stride(sin.expand(table));
    if (c.strides() != s.strides()) c = c.contiguous(), s = s.contiguous();  // the kernel takes one table layout
    return RopeFunction::apply(x, c, s);
  }
#endif
  return RopeFunction::apply(x, cos.expand(table).contiguous(), sin.expand(table).contiguous());
}

at::Tensor fused_swiglu(const at::Tensor& gate, const at::Tensor& up) {
  return SwigluFunction::apply(gate.contiguous(), up.contiguous());
}

at::Tensor fused_swiglu_packed(const at::Tensor& gate_up) {
  const int64_t width = gate_up.size(-1) / 2;
  TORCH_CHECK(gate_up.size(-1) == 2 * width, "packed SwiGLU needs an even last dimension, got ", gate_up.sizes());
  auto gate = gate_up.narrow(-1, 0, width), up = gate_up.narrow(-1, width, width);
  if (!swiglu_implemented_for(gate, up)) return reference_swiglu(gate, up);
#if EMBER_HAVE_CUDA
  if (gate_up.is_cuda() && gate_up.is_contiguous()) return SwigluPackedFunction::apply(gate_up);
#endif
  return fused_swiglu(gate, up);
}

}  // namespace ember::model::kernels
