// GEMM peak measurement for MFU (see peak_flops.h).
#include "train/peak_flops.h"

#include <algorithm>
#include <chrono>

#include <ATen/Parallel.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/randn.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

namespace ember::train {

PeakFlops peak_flops(const c10::Device& device, bool bf16, double configured) {
  if (configured > 0) return {configured, fmt::format("configured: {:.3g} FLOP/s", configured)};
  c10::NoGradGuard no_grad;
  const int64_t n = device.is_cuda() ? 8192 : 1024;
  auto options = at::TensorOptions().device(device).dtype(bf16 ? at::kBFloat16 : at::kFloat);
  auto a = at::randn({n, n}, options), b = at::randn({n, n}, options);
  // Reading a scalar back forces the queued kernels to finish on CUDA (CPU GEMMs are synchronous).
  auto sync = [](const at::Tensor& t) { (void)t.sum().item<float>(); };
  for (int i = 0; i < 3; ++i) sync(at::matmul(a, b));
  // The peak is the fastest repetition in half a second, not the mean: other work on the machine
  // only ever slows a repetition down, so the fastest one is the least disturbed estimate.
  int iterations = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0, fastest = 0;
  while (elapsed < 0.5 || iterations < 5) {
    const auto before = std::chrono::steady_clock::now();
    auto c = at::matmul(a, b);
    if (device.is_cuda()) sync(c);
    const auto after = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(after - before).count();
    fastest = iterations == 0 ? seconds : std::min(fastest, seconds);
    ++iterations;
    elapsed = std::chrono::duration<double>(after - start).count();
  }
  double flops = 2.0 * double(n) * double(n) * double(n) / fastest;
  return {flops, fmt::format("measured: {} GEMM {}^3 on {}, {} threads, fastest of {}", bf16 ? "bf16" : "fp32", n,
                             device.str(), at::get_num_threads(), iterations)};
}

}  // namespace ember::train
