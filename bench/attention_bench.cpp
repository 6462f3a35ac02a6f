// CPU causal attention: Ember's kernel (model/kernels/cpu_attention.h) against its reference,
// LibTorch's scaled_dot_product_attention (model/kernels/reference_ops.h: is_causal, its CPU flash
// kernel) on the same inputs, forward and forward + backward, fp32. Alternates the two, reports the
// median of each and the ratio, plus the largest difference of the outputs and gradients (a sanity
// check; the tests hold the bounds).
//
//   attention_bench [--batch B] [--heads H] [--kv-heads K] [--tokens T] [--dim D] [--threads N] [--reps R]
// Default: the 25m reference model's attention (batch 8, 8 heads, 256 tokens, head dim 64, 2 threads).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <c10/core/GradMode.h>
#include <ATen/ops/randn.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/csrc/autograd/autograd.h>

#include "model/kernels/cpu_attention.h"
#include "model/kernels/reference_ops.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Inputs {
  at::Tensor q, k, v, grad;
};

/// q, k, v as the attention layer makes them: [B, H, T, D] views of token-major projections.
Inputs make_inputs(int64_t batch, int64_t heads, int64_t kv_heads, int64_t tokens, int64_t dim) {
  auto view = [&](int64_t h) {
    return at::randn({batch, tokens, h, dim}).transpose(1, 2).requires_grad_(true);
  };
  return {view(heads), view(kv_heads), view(kv_heads), at::randn({batch, heads, tokens, dim})};
}

struct Run {
  at::Tensor out, dq, dk, dv;
};

template <typename Attention>
Run forward_backward(const Inputs& in, Attention attention) {
  auto out = attention(in.q, in.k, in.v);
  auto grads = torch::autograd::grad({out}, {in.q, in.k, in.v}, {in.grad});
  return {out, grads[0], grads[1], grads[2]};
}

double milliseconds(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double max_difference(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CPU causal attention: Ember's kernel vs LibTorch's scaled_dot_product_attention"};
  int64_t batch = 8, heads = 8, kv_heads = 8, tokens = 256, dim = 64, threads = 2, reps = 11;
  app.add_option("--batch", batch, "sequences");
  app.add_option("--heads", heads, "query heads");
  app.add_option("--kv-heads", kv_heads, "key/value heads (divides --heads)");
  app.add_option("--tokens", tokens, "tokens per sequence");
  app.add_option("--dim", dim, "head dimension");
  app.add_option("--threads", threads, "intra-op threads");
  app.add_option("--reps", reps, "timed repetitions of each (median reported)");
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(int(threads));
  const auto in = make_inputs(batch, heads, kv_heads, tokens, dim);
  if (!ember::model::kernels::cpu_causal_attention_applies(ember::model::kernels::KernelPolicy(), in.q, in.k, in.v)) {
    std::fprintf(stderr, "attention_bench: Ember's CPU attention does not take these inputs (no BLAS sgemm in this build?)\n");
    return 1;
  }
  auto ember_attention = [](const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
    return ember::model::kernels::cpu_causal_attention(q, k, v);
  };
  auto torch_attention = [](const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
    return ember::model::kernels::reference_attention(q, k, v, at::Tensor());
  };
  std::vector<double> ember_fwd, torch_fwd, ember_step, torch_step;
  for (int64_t rep = 0; rep <= reps; ++rep) {  // the first round warms up
    auto start = Clock::now();
    {
      c10::NoGradGuard no_grad;
      ember_attention(in.q, in.k, in.v);
    }
    const double ef = milliseconds(start);
    start = Clock::now();
    {
      c10::NoGradGuard no_grad;
      torch_attention(in.q, in.k, in.v);
    }
    const double tf = milliseconds(start);
    start = Clock::now();
    forward_backward(in, ember_attention);
    const double es = milliseconds(start);
    start = Clock::now();
    forward_backward(in, torch_attention);
    const double ts = milliseconds(start);
    if (rep == 0) continue;
    ember_fwd.push_back(ef), torch_fwd.push_back(tf), ember_step.push_back(es), torch_step.push_back(ts);
  }
  const auto ours = forward_backward(in, ember_attention), theirs = forward_backward(in, torch_attention);
  const double diff = std::max({max_difference(ours.out, theirs.out), max_difference(ours.dq, theirs.dq),
                                max_difference(ours.dk, theirs.dk), max_difference(ours.dv, theirs.dv)});
  const double ef = median(ember_fwd), tf = median(torch_fwd), es = median(ember_step), ts = median(torch_step);
  std::printf("forward: ember %.2f ms, torch %.2f ms (%.2fx); forward+backward: ember %.2f ms, torch %.2f ms (%.2fx)\n",
              ef, tf, tf / ef, es, ts, ts / es);
  std::printf("%s\n", fmt::format(R"({{"batch":{},"heads":{},"kv_heads":{},"tokens":{},"dim":{},"threads":{},)"
                                  R"("ember_forward_ms":{:.3f},"torch_forward_ms":{:.3f},"ember_step_ms":{:.3f},)"
                                  R"("torch_step_ms":{:.3f},"step_ratio":{:.3f},"max_abs_difference":{:.3g}}})",
                                  batch, heads, kv_heads, tokens, dim, threads, ef, tf, es, ts, ts / es, diff)
                          .c_str());
}
