// Where and how a recipe computes: device choice, CPU threads, and bf16 autocast on CUDA.
#pragma once

#include <optional>
#include <string>

#include <c10/core/Device.h>

#include "model/kernels/kernel_policy.h"
#include "train/config.h"

namespace ember::train {

struct Runtime {
  c10::Device device{c10::kCPU};
  bool bf16_autocast = false;  ///< bf16 autocast (CUDA); fp32 otherwise
  int threads = 1;
  /// train.fused_kernels / train.fused_projections: every model a recipe builds or loads runs these
  /// kernels (model::TransformerImpl's constructor or set_kernel_policy, load_model).
  model::kernels::KernelPolicy kernels;
};

/// Resolves train.device / train.dtype / train.threads (0 = cores / local ranks) and the kernel
/// policy, and applies the thread count and, on CUDA, train.attention_backend; on CPU also
/// keep_freed_memory(). Throws UsageError for cuda without a usable GPU or bf16 on CPU.
Runtime setup_runtime(const TrainConfig& train, int local_ranks = 1);

/// Which kernels at::scaled_dot_product_attention may pick on CUDA (process-wide ATen flags):
/// "auto" allows all (LibTorch's priority order decides), "flash" / "cudnn" / "efficient" allow
/// only that fused kernel, "math" none; the unfused math kernel stays allowed for inputs the chosen
/// one cannot take (so a masked batch under "flash" still runs). The CPU kernels are not touched
/// (setup_runtime calls this for CUDA only).
void set_attention_backend(const std::string& backend);

/// Makes glibc malloc keep freed memory instead of returning it to the kernel: without this every
/// training step maps its large activations afresh and page-faults on each first touch (about 13%
/// of a CPU step on the 25m benchmark). The process keeps its peak heap size.
void keep_freed_memory();

/// Turns bf16 autocast on for CUDA in a scope (no-op when `enabled` is false).
class AutocastScope {
 public:
  explicit AutocastScope(bool enabled);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  bool previous_ = false;
};

}  // namespace ember::train
