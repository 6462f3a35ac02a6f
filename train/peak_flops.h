// The peak FLOP/s that MFU is measured against. By default it is measured at start: a large
// square fp32 (CPU) or bf16 (CUDA) GEMM on the same device and thread count, repeated for half a
// second after a warm-up; peak = 2 n^3 / the fastest repetition (FLOPs of one n x n x n GEMM are
// 2 n^3; the fastest repetition is the one other work on the machine disturbed least). A configured nominal peak replaces the measurement.
#pragma once

#include <string>

#include <c10/core/Device.h>

namespace ember::train {

struct PeakFlops {
  double flops_per_s = 0;
  std::string how;  ///< e.g. "measured: fp32 GEMM 2048^3 on cpu, 2 threads" or "configured"
};

/// Measures the GEMM peak on `device` (about a second), or returns `configured` when > 0.
PeakFlops peak_flops(const c10::Device& device, bool bf16, double configured);

}  // namespace ember::train
