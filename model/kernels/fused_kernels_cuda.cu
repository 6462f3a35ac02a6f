// CUDA RMSNorm, RoPE and SwiGLU, forward and backward (see fused_kernels_cuda.h for the dtypes and
// fused_kernels.h for the maths). Everything is computed in fp32 and rounded once to the output
// dtype, except where the composite expression itself rounds (RMSNorm's xhat and dy * weight).
//
// RMSNorm: a group of `threads_per_row` threads (a power of two, 32..512) owns one row; the sum of
// squares is a warp butterfly plus a fixed-order sum over the group's warps, so every thread gets
// the same r. Backward, each group walks kRowsPerGroup consecutive rows; dweight's per-column
// partial sums live in shared memory, each block writes one row of partials, and a second kernel
// adds those rows in block order: no atomics, bit-identical from run to run.
// RoPE: one thread block covers (batch b, head h, a tile of tokens); each thread rotates pairs
// (i, i + d/2), four at a time when every stride and pointer allows 4-wide loads.
// SwiGLU: a grid-stride loop, 16-byte loads when the pointers and the size allow.
#include "model/kernels/fused_kernels_cuda.h"

#include <algorithm>
#include <cstdint>

#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContextLight.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

namespace ember::model::kernels::fused_cuda {

namespace {

constexpr int kMaxWarps = 16;       ///< threads per block are at most 512
constexpr int kRowsPerGroup = 16;   ///< RMSNorm backward: rows one thread group walks (fixed)
constexpr int kSumRows = 16;        ///< column-sum kernel: block rows adding partials

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// ---- vector loads -----------------------------------------------------------------------------

template <int V, typename T>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

template <int V, typename T>
__device__ __forceinline__ Pack<V, T> load(const T* p) {
  return *reinterpret_cast<const Pack<V, T>*>(p);
}

template <int V, typename T>
__device__ __forceinline__ void store(T* p, const Pack<V, T>& value) {
  *reinterpret_cast<Pack<V, T>*>(p) = value;
}

/// Rounds through T (the identity for float): the composite's .to(dtype).
template <typename T>
__device__ __forceinline__ float round_to(float v) {
  return static_cast<float>(static_cast<T>(v));
}

// ---- RMSNorm ----------------------------------------------------------------------------------

/// Sum of v over the blockDim.x threads that share threadIdx.y (blockDim.x a multiple of 32).
/// Every thread of the block must call it (it synchronises when a row spans several warps).
__device__ __forceinline__ float row_sum(float v, float* scratch) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  const int warps = blockDim.x / 32;
  if (warps == 1) return v;
  float* mine = scratch + threadIdx.y * warps;
  if (threadIdx.x % 32 == 0) mine[threadIdx.x / 32] = v;
  __syncthreads();
  float total = 0;
  for (int w = 0; w < warps; ++w) total += mine[w];
  __syncthreads();
  return total;
}

template <typename x_t, typename w_t, typename y_t>
__global__ void rms_norm_forward_kernel(const x_t* __restrict__ x, const w_t* __restrict__ weight, y_t* __restrict__ y,
                                        float* __restrict__ rstd, int64_t rows, int64_t dim, float eps) {
  __shared__ float scratch[kMaxWarps];
  const int64_t row = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
  const bool active = row < rows;
  const int64_t offset = (active ? row : 0) * dim;
  float squares = 0;
  if (active) {
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) {
      const float v = static_cast<float>(x[offset + c]);
      squares += v * v;
    }
  }
  const float r = rsqrtf(row_sum(squares, scratch) / float(dim) + eps);
  if (!active) return;
  if (threadIdx.x == 0) rstd[row] = r;
  for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) {
    const float xhat = round_to<x_t>(static_cast<float>(x[offset + c]) * r);
    y[offset + c] = static_cast<y_t>(static_cast<float>(weight[c]) * xhat);
  }
}

/// dx per row; partial[blockIdx.x][c] = sum over the block's rows of dy * xhat.
/// Dynamic shared memory: blockDim.y * dim floats.
template <typename x_t, typename w_t, typename y_t>
__global__ void rms_norm_backward_kernel(const y_t* __restrict__ dy, const x_t* __restrict__ x,
                                         const w_t* __restrict__ weight, const float* __restrict__ rstd,
                                         x_t* __restrict__ dx, float* __restrict__ partial, int64_t rows,
                                         int64_t dim) {
  __shared__ float scratch[kMaxWarps];
  extern __shared__ float accumulators[];
  float* acc = accumulators + threadIdx.y * dim;
  for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) acc[c] = 0;
  const int64_t first = (int64_t(blockIdx.x) * blockDim.y + threadIdx.y) * kRowsPerGroup;
  for (int i = 0; i < kRowsPerGroup; ++i) {  // the same trip count in every thread (row_sum syncs)
    const int64_t row = first + i;
    const bool active = row < rows;
    const int64_t offset = (active ? row : 0) * dim;
    const float r = active ? rstd[row] : 0.0f;
    float dot = 0;  // sum of g * xhat over the row, g = dy * weight rounded to x's dtype
    if (active) {
      for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) {
        const float d = static_cast<float>(dy[offset + c]);
        const float g = round_to<x_t>(d * static_cast<float>(weight[c]));
        const float xhat = static_cast<float>(x[offset + c]) * r;
        dot += g * xhat;
        acc[c] += d * round_to<x_t>(xhat);
      }
    }
    const float mean_dot = row_sum(dot, scratch) / float(dim);
    if (active) {
      for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) {
        const float g = round_to<x_t>(static_cast<float>(dy[offset + c]) * static_cast<float>(weight[c]));
        const float xhat = static_cast<float>(x[offset + c]) * r;
        dx[offset + c] = static_cast<x_t>(r * (g - xhat * mean_dot));
      }
    }
  }
  __syncthreads();
  for (int64_t c = threadIdx.y * blockDim.x + threadIdx.x; c < dim; c += int64_t(blockDim.x) * blockDim.y) {
    float sum = 0;
    for (unsigned j = 0; j < blockDim.y; ++j) sum += accumulators[j * dim + c];
    partial[int64_t(blockIdx.x) * dim + c] = sum;
  }
}

/// out[c] = sum over p of partial[p][c], in a fixed order. Block (32, kSumRows).
template <typename w_t>
__global__ void column_sum_kernel(const float* __restrict__ partial, w_t* __restrict__ out, int64_t parts,
                                  int64_t dim) {
  __shared__ float sums[kSumRows][33];
  const int64_t c = int64_t(blockIdx.x) * 32 + threadIdx.x;
  float sum = 0;
  if (c < dim) {
    for (int64_t p = threadIdx.y; p < parts; p += kSumRows) sum += partial[p * dim + c];
  }
  sums[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || c >= dim) return;
  float total = 0;
  for (int j = 0; j < kSumRows; ++j) total += sums[j][threadIdx.x];
  out[c] = static_cast<w_t>(total);
}

struct RowLaunch {
  int threads_per_row;  ///< a power of two in [32, 512], about dim / 8
  int rows_per_block;   ///< 256 / threads_per_row, at least 1
};

RowLaunch row_launch(int64_t dim) {
  int threads = 32;
  while (threads < 512 && int64_t(threads) * 8 < dim) threads *= 2;
  return {threads, std::max(1, 256 / threads)};
}

/// Calls f(x_t{}, w_t{}, y_t{}) for x's dtype and weight's (fp32 or x's; y_t their promotion).
template <typename F>
void dispatch_rms(const at::Tensor& x, const at::Tensor& weight, const F& f) {
  TORCH_CHECK(weight.scalar_type() == at::kFloat || weight.scalar_type() == x.scalar_type(),
              "fused RMSNorm: the weight must be fp32 or the input's dtype, got ", weight.scalar_type());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, x.scalar_type(), "ember_fused_rms_norm", [&] {
    if (weight.scalar_type() == at::kFloat) {
      f(scalar_t{}, float{}, float{});
    } else {
      f(scalar_t{}, scalar_t{}, scalar_t{});
    }
  });
}

// ---- RoPE -------------------------------------------------------------------------------------

struct RopeGeometry {
  int64_t half;                   ///< d / 2
  int64_t in_b, in_h, in_t;       ///< strides of the input (the last one is 1)
  int64_t out_b, out_h, out_t;    ///< strides of the output
  int64_t table_b, table_t;       ///< strides of cos and sin
};

/// Block (threads, tokens per block); grid (token tiles, H, B). Each thread rotates V pairs at a time.
template <int V, bool kTransposed, typename in_t, typename table_t, typename out_t>
__global__ void rope_kernel(const in_t* __restrict__ in, out_t* __restrict__ out, const table_t* __restrict__ cos,
                            const table_t* __restrict__ sin, int64_t tokens, RopeGeometry g) {
  const int64_t t = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
  if (t >= tokens) return;
  const int64_t b = blockIdx.z, h = blockIdx.y;
  const in_t* x = in + b * g.in_b + h * g.in_h + t * g.in_t;
  out_t* y = out + b * g.out_b + h * g.out_h + t * g.out_t;
  const table_t* c = cos + b * g.table_b + t * g.table_t;
  const table_t* s = sin + b * g.table_b + t * g.table_t;
  for (int64_t i = int64_t(threadIdx.x) * V; i < g.half; i += int64_t(blockDim.x) * V) {
    const auto x1 = load<V>(x + i), x2 = load<V>(x + i + g.half);
    const auto c1 = load<V>(c + i), c2 = load<V>(c + i + g.half);
    const auto s1 = load<V>(s + i), s2 = load<V>(s + i + g.half);
    Pack<V, out_t> y1, y2;
#pragma unroll
    for (int k = 0; k < V; ++k) {
      const float a = static_cast<float>(x1.v[k]), z = static_cast<float>(x2.v[k]);
      const float cos1 = static_cast<float>(c1.v[k]), cos2 = static_cast<float>(c2.v[k]);
      const float sin1 = static_cast<float>(s1.v[k]), sin2 = static_cast<float>(s2.v[k]);
      if constexpr (!kTransposed) {
        y1.v[k] = static_cast<out_t>(a * cos1 - z * sin1);
        y2.v[k] = static_cast<out_t>(z * cos2 + a * sin2);
      } else {
        y1.v[k] = static_cast<out_t>(a * cos1 + z * sin2);
        y2.v[k] = static_cast<out_t>(z * cos2 - a * sin1);
      }
    }
    store(y + i, y1);
    store(y + i + g.half, y2);
  }
}

template <int V, bool kTransposed, typename in_t, typename table_t, typename out_t>
void launch_rope(const at::Tensor& in, at::Tensor& out, const at::Tensor& cos, const at::Tensor& sin,
                 const RopeGeometry& g) {
  const int64_t batch = in.size(0), heads = in.size(1), tokens = in.size(2);
  int threads = 1;
  while (threads < 128 && threads * V < g.half) threads *= 2;
  const int tokens_per_block = std::max(1, 256 / threads);
  const dim3 block(threads, tokens_per_block);
  const dim3 grid(unsigned(ceil_div(tokens, tokens_per_block)), unsigned(heads), unsigned(batch));
  rope_kernel<V, kTransposed><<<grid, block, 0, at::cuda::getCurrentCUDAStream()>>>(
      in.const_data_ptr<in_t>(), out.mutable_data_ptr<out_t>(), cos.const_data_ptr<table_t>(),
      sin.const_data_ptr<table_t>(), tokens, g);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

/// True when every row start and the half offset are multiples of 4 elements and the pointers
/// allow 4-wide loads and stores.
bool rope_vectorizable(const at::Tensor& in, const at::Tensor& out, const at::Tensor& cos, const at::Tensor& sin,
                       const RopeGeometry& g) {
  for (int64_t v : {g.half, g.in_b, g.in_h, g.in_t, g.out_b, g.out_h, g.out_t, g.table_b, g.table_t}) {
    if (v % 4 != 0) return false;
  }
  return aligned(in.const_data_ptr(), 4 * in.element_size()) && aligned(out.const_data_ptr(), 4 * out.element_size()) &&
         aligned(cos.const_data_ptr(), 4 * cos.element_size()) && aligned(sin.const_data_ptr(), 4 * sin.element_size());
}

// ---- SwiGLU -----------------------------------------------------------------------------------

__device__ __forceinline__ float sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }

/// Element i of a [rows, width] view whose rows start every `ld` elements (ld == width: contiguous;
/// ld == 2 * width: one half of a packed gate|up row).
__device__ __forceinline__ int64_t row_offset(int64_t i, int64_t width, int64_t ld) {
  return (i / width) * ld + i % width;
}

template <int V, typename T>
__global__ void swiglu_forward_kernel(const T* __restrict__ gate, const T* __restrict__ up, int64_t ld,
                                      T* __restrict__ h, int64_t n, int64_t width) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x * V;
  for (int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * V; i < n; i += stride) {
    const int64_t o = row_offset(i, width, ld);
    const auto g = load<V>(gate + o), u = load<V>(up + o);
    Pack<V, T> out;
#pragma unroll
    for (int k = 0; k < V; ++k) {
      const float gv = static_cast<float>(g.v[k]);
      out.v[k] = static_cast<T>(gv * sigmoid(gv) * static_cast<float>(u.v[k]));
    }
    store(h + i, out);
  }
}

template <int V, typename T>
__global__ void swiglu_backward_kernel(const T* __restrict__ dh, const T* __restrict__ gate, const T* __restrict__ up,
                                       T* __restrict__ dgate, T* __restrict__ dup, int64_t ld, int64_t n,
                                       int64_t width) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x * V;
  for (int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * V; i < n; i += stride) {
    const int64_t o = row_offset(i, width, ld);
    const auto d = load<V>(dh + i), g = load<V>(gate + o), u = load<V>(up + o);
    Pack<V, T> dg, du;
#pragma unroll
    for (int k = 0; k < V; ++k) {
      const float dv = static_cast<float>(d.v[k]), gv = static_cast<float>(g.v[k]), uv = static_cast<float>(u.v[k]);
      const float s = sigmoid(gv);
      dg.v[k] = static_cast<T>(dv * uv * s * (1.0f + gv * (1.0f - s)));
      du.v[k] = static_cast<T>(dv * gv * s);
    }
    store(dgate + o, dg);
    store(dup + o, du);
  }
}

/// The row stride of t viewed as [rows, t.size(-1)] with a unit last stride (the SwiGLU operands).
int64_t swiglu_row_stride(const at::Tensor& t) {
  const int64_t width = t.size(-1);
  TORCH_CHECK(t.stride(-1) == 1 || t.numel() <= 1, "fused SwiGLU: operands need a unit last stride");
  const auto rows = t.view({-1, width});  // throws if the rows are not evenly spaced
  return rows.size(0) > 1 ? rows.stride(0) : width;
}

/// Blocks of 256 threads for n elements V at a time: enough to fill the GPU, the rest by striding.
unsigned elementwise_blocks(int64_t n, int V) {
  const int64_t limit = int64_t(at::cuda::getCurrentDeviceProperties()->multiProcessorCount) * 16;
  return unsigned(std::max<int64_t>(1, std::min(ceil_div(n, 256 * int64_t(V)), limit)));
}

}  // namespace

std::pair<at::Tensor, at::Tensor> rms_norm_forward(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const int64_t dim = x.size(-1), rows = dim > 0 ? x.numel() / dim : 0;
  TORCH_CHECK(x.stride(-1) == 1 && x.is_non_overlapping_and_dense() && weight.is_contiguous() && weight.numel() == dim,
              "fused RMSNorm: x must be rows of contiguous elements and weight [", dim, "]");
  const c10::cuda::CUDAGuard guard(x.device());
  auto y = at::empty_like(x, x.options().dtype(c10::promoteTypes(x.scalar_type(), weight.scalar_type())));
  auto rstd = at::empty({rows}, x.options().dtype(at::kFloat));
  if (rows == 0) return {y, rstd};
  const auto launch = row_launch(dim);
  const dim3 block(launch.threads_per_row, launch.rows_per_block);
  const dim3 grid(unsigned(ceil_div(rows, launch.rows_per_block)));
  dispatch_rms(x, weight, [&](auto x_tag, auto w_tag, auto y_tag) {
    using x_t = decltype(x_tag);
    using w_t = decltype(w_tag);
    using y_t = decltype(y_tag);
    rms_norm_forward_kernel<<<grid, block, 0, at::cuda::getCurrentCUDAStream()>>>(
        x.const_data_ptr<x_t>(), weight.const_data_ptr<w_t>(), y.mutable_data_ptr<y_t>(), rstd.mutable_data_ptr<float>(),
        rows, dim, float(eps));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {y, rstd};
}

std::pair<at::Tensor, at::Tensor> rms_norm_backward(const at::Tensor& dy, const at::Tensor& x, const at::Tensor& weight,
                                                    const at::Tensor& rstd) {
  const int64_t dim = x.size(-1), rows = dim > 0 ? x.numel() / dim : 0;
  TORCH_CHECK(dy.strides() == x.strides() && dy.scalar_type() == c10::promoteTypes(x.scalar_type(), weight.scalar_type()),
              "fused RMSNorm backward: dy must have x's strides and the output's dtype");
  const c10::cuda::CUDAGuard guard(x.device());
  auto dx = at::empty_like(x);
  if (rows == 0) return {dx, at::zeros({dim}, weight.options())};
  const auto launch = row_launch(dim);
  const int64_t rows_per_block = int64_t(launch.rows_per_block) * kRowsPerGroup;
  const int64_t blocks = ceil_div(rows, rows_per_block);
  auto partial = at::empty({blocks, dim}, x.options().dtype(at::kFloat));
  auto dweight = at::empty({dim}, weight.options());
  const size_t shared_bytes = size_t(launch.rows_per_block) * size_t(dim) * sizeof(float);
  const auto* properties = at::cuda::getCurrentDeviceProperties();
  TORCH_CHECK(shared_bytes <= properties->sharedMemPerBlockOptin - kMaxWarps * sizeof(float),
              "fused RMSNorm backward: a row of ", dim, " elements needs more shared memory than the GPU has");
  auto stream = at::cuda::getCurrentCUDAStream();
  dispatch_rms(x, weight, [&](auto x_tag, auto w_tag, auto y_tag) {
    using x_t = decltype(x_tag);
    using w_t = decltype(w_tag);
    using y_t = decltype(y_tag);
    auto* kernel = rms_norm_backward_kernel<x_t, w_t, y_t>;
    if (shared_bytes + kMaxWarps * sizeof(float) > 48 * 1024) {  // beyond the default limit (static included)
      C10_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared_bytes)));
    }
    kernel<<<dim3(unsigned(blocks)), dim3(launch.threads_per_row, launch.rows_per_block), shared_bytes, stream>>>(
        dy.const_data_ptr<y_t>(), x.const_data_ptr<x_t>(), weight.const_data_ptr<w_t>(), rstd.const_data_ptr<float>(),
        dx.mutable_data_ptr<x_t>(), partial.mutable_data_ptr<float>(), rows, dim);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    column_sum_kernel<<<dim3(unsigned(ceil_div(dim, 32))), dim3(32, kSumRows), 0, stream>>>(
        partial.const_data_ptr<float>(), dweight.mutable_data_ptr<w_t>(), blocks, dim);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {dx, dweight};
}

at::Tensor rope(const at::Tensor& in, const at::Tensor& cos, const at::Tensor& sin, at::ScalarType out_dtype,
                bool transposed) {
  TORCH_CHECK(in.dim() == 4 && in.stride(3) == 1 && in.size(3) % 2 == 0, "fused RoPE: x must be [B, H, T, d], d even, unit last stride");
  TORCH_CHECK(cos.sizes() == sin.sizes() && cos.strides() == sin.strides() && cos.stride(3) == 1 &&
                  cos.size(0) == in.size(0) && cos.size(2) == in.size(2) && cos.size(3) == in.size(3),
              "fused RoPE: cos and sin must be [B, 1, T, d] with one layout and a unit last stride");
  TORCH_CHECK(cos.scalar_type() == sin.scalar_type() &&
                  (cos.scalar_type() == at::kFloat || cos.scalar_type() == (transposed ? out_dtype : in.scalar_type())),
              "fused RoPE: cos and sin must be fp32 or x's dtype");
  TORCH_CHECK(in.size(0) <= 65535 && in.size(1) <= 65535, "fused RoPE: at most 65535 sequences and heads");
  const c10::cuda::CUDAGuard guard(in.device());
  auto out = at::empty_like(in, in.options().dtype(out_dtype));
  if (in.numel() == 0) return out;
  const RopeGeometry g{in.size(3) / 2,   in.stride(0), in.stride(1), in.stride(2), out.stride(0),
                       out.stride(1),    out.stride(2), cos.stride(0), cos.stride(2)};
  const bool vectorized = rope_vectorizable(in, out, cos, sin, g);
  // Forward reads x (X) and writes y (promote(X, C)); backward reads dy in that dtype, writes dx (X).
  const at::ScalarType x_dtype = transposed ? out_dtype : in.scalar_type();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, x_dtype, "ember_fused_rope", [&] {
    using x_t = scalar_t;
    auto run = [&](auto table_tag, auto y_tag) {
      using table_t = decltype(table_tag);
      using y_t = decltype(y_tag);
      if (!transposed) {
        if (vectorized) launch_rope<4, false, x_t, table_t, y_t>(in, out, cos, sin, g);
        else launch_rope<1, false, x_t, table_t, y_t>(in, out, cos, sin, g);
      } else {
        if (vectorized) launch_rope<4, true, y_t, table_t, x_t>(in, out, cos, sin, g);
        else launch_rope<1, true, y_t, table_t, x_t>(in, out, cos, sin, g);
      }
    };
    if (cos.scalar_type() == at::kFloat) {
      run(float{}, float{});
    } else {
      run(scalar_t{}, scalar_t{});
    }
  });
  return out;
}

at::Tensor swiglu_forward(const at::Tensor& gate, const at::Tensor& up) {
  TORCH_CHECK(gate.sizes() == up.sizes() && gate.scalar_type() == up.scalar_type(),
              "fused SwiGLU: gate and up must have one shape and dtype");
  const int64_t ld = swiglu_row_stride(gate), width = gate.size(-1);
  TORCH_CHECK(swiglu_row_stride(up) == ld, "fused SwiGLU: gate and up must have one row stride");
  const c10::cuda::CUDAGuard guard(gate.device());
  auto h = at::empty(gate.sizes(), gate.options());
  const int64_t n = gate.numel();
  if (n == 0) return h;
  auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, gate.scalar_type(), "ember_fused_swiglu", [&] {
    constexpr int kVec = 16 / sizeof(scalar_t);
    const bool vectorized = width % kVec == 0 && ld % kVec == 0 && aligned(gate.const_data_ptr(), 16) &&
                            aligned(up.const_data_ptr(), 16) && aligned(h.const_data_ptr(), 16);
    const auto* g = gate.const_data_ptr<scalar_t>();
    const auto* u = up.const_data_ptr<scalar_t>();
    auto* out = h.mutable_data_ptr<scalar_t>();
    if (vectorized) {
      swiglu_forward_kernel<kVec><<<elementwise_blocks(n, kVec), 256, 0, stream>>>(g, u, ld, out, n, width);
    } else {
      swiglu_forward_kernel<1><<<elementwise_blocks(n, 1), 256, 0, stream>>>(g, u, ld, out, n, width);
    }
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return h;
}

void swiglu_backward(const at::Tensor& dh, const at::Tensor& gate, const at::Tensor& up, const at::Tensor& dgate,
                     const at::Tensor& dup) {
  TORCH_CHECK(dh.is_contiguous() && dh.sizes() == gate.sizes() && dh.scalar_type() == gate.scalar_type(),
              "fused SwiGLU backward: dh must be contiguous and match gate");
  const int64_t ld = swiglu_row_stride(gate), width = gate.size(-1);
  TORCH_CHECK(swiglu_row_stride(up) == ld && swiglu_row_stride(dgate) == ld && swiglu_row_stride(dup) == ld &&
                  dgate.sizes() == gate.sizes() && dup.sizes() == gate.sizes(),
              "fused SwiGLU backward: gate, up, dgate and dup must have one shape and row stride");
  const c10::cuda::CUDAGuard guard(gate.device());
  const int64_t n = gate.numel();
  if (n == 0) return;
  auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, gate.scalar_type(), "ember_fused_swiglu_backward", [&] {
    constexpr int kVec = 16 / sizeof(scalar_t);
    const bool vectorized = width % kVec == 0 && ld % kVec == 0 && aligned(dh.const_data_ptr(), 16) &&
                            aligned(gate.const_data_ptr(), 16) && aligned(up.const_data_ptr(), 16) &&
                            aligned(dgate.const_data_ptr(), 16) && aligned(dup.const_data_ptr(), 16);
    const auto* d = dh.const_data_ptr<scalar_t>();
    const auto* g = gate.const_data_ptr<scalar_t>();
    const auto* u = up.const_data_ptr<scalar_t>();
    auto* dg = dgate.mutable_data_ptr<scalar_t>();
    auto* du = dup.mutable_data_ptr<scalar_t>();
    if (vectorized) {
      swiglu_backward_kernel<kVec><<<elementwise_blocks(n, kVec), 256, 0, stream>>>(d, g, u, dg, du, ld, n, width);
    } else {
      swiglu_backward_kernel<1><<<elementwise_blocks(n, 1), 256, 0, stream>>>(d, g, u, dg, du, ld, n, width);
    }
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

}  // namespace ember::model::kernels::fused_cuda
