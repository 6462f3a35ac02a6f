// Device, threads and autocast (see runtime.h).
#include "train/runtime.h"

#include <malloc.h>

#include <algorithm>
#include <limits>
#include <thread>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include "core/error.h"

namespace ember::train {

void keep_freed_memory() {
  mallopt(M_MMAP_MAX, 0);                      // large tensors come from the heap, not fresh mmaps
  // and freed memory stays mapped for the next step: the largest threshold mallopt's int takes
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
}

void set_attention_backend(const std::string& backend) {
  auto& context = at::globalContext();
  const bool any = backend == "auto";
  context.setSDPUseFlash(any || backend == "flash");
  context.setSDPUseCuDNN(any || backend == "cudnn");
  context.setSDPUseMemEfficient(any || backend == "efficient");
  context.setSDPUseMath(true);
}

Runtime setup_runtime(const TrainConfig& train, int local_ranks) {
  Runtime runtime;
  bool cuda = at::hasCUDA();
  if (train.device == "cuda" && !cuda) fail_usage("train.device=cuda but no usable CUDA GPU was found");
  runtime.device = (train.device == "cuda" || (train.device == "auto" && cuda)) ? c10::Device(c10::kCUDA)
                                                                               : c10::Device(c10::kCPU);
  if (train.dtype == "bf16" && !runtime.device.is_cuda()) {
    fail_usage("train.dtype=bf16 needs train.device=cuda (CPU training runs in fp32)");
  }
  runtime.bf16_autocast = runtime.device.is_cuda() && train.dtype != "fp32";
  int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  // Far more threads than cores only adds contention: thousands never reach step 1.
  if (train.threads > 4 * cores) {
    fail_usage("train.threads={} is more than 4 x the {} hardware threads of this machine; use 0 (one per core) "
               "or at most {}",
               train.threads, cores, 4 * cores);
  }
  runtime.threads = train.threads > 0 ? int(train.threads) : std::max(1, cores / std::max(1, local_ranks));
  at::set_num_threads(runtime.threads);
  runtime.kernels = {.fused_kernels = train.fused_kernels, .fused_projections = train.fused_projections};
  if (runtime.device.is_cuda()) set_attention_backend(train.attention_backend);
  if (!runtime.device.is_cuda()) keep_freed_memory();
  return runtime;
}

AutocastScope::AutocastScope(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  previous_ = at::autocast::is_autocast_enabled(at::kCUDA);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  at::autocast::set_autocast_enabled(at::kCUDA, previous_);
  if (!previous_) at::autocast::clear_cache();
}

}  // namespace ember::train
