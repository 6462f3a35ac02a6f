// setup_runtime on the CPU: the kernel policy every recipe hands its models comes from
// train.fused_kernels / train.fused_projections (both on by default), and bf16 on CPU is a usage
// error naming the keys.
#include <string>

#include <gtest/gtest.h>
#include <ATen/Parallel.h>

#include "core/error.h"
#include "train/config.h"
#include "train/runtime.h"

using namespace ember;

namespace {

/// A CPU config that keeps this process's thread count.
train::TrainConfig cpu_config() {
  train::TrainConfig config;
  config.device = "cpu";
  config.threads = at::get_num_threads();
  return config;
}

}  // namespace

TEST(Runtime, KernelPolicyFollowsTheConfig) {
  auto config = cpu_config();
  auto runtime = train::setup_runtime(config);
  EXPECT_TRUE(runtime.device.is_cpu());
  EXPECT_TRUE(runtime.kernels.fused_kernels);
  EXPECT_TRUE(runtime.kernels.fused_projections);
  config.fused_kernels = false;
  runtime = train::setup_runtime(config);
  EXPECT_FALSE(runtime.kernels.fused_kernels);
  EXPECT_TRUE(runtime.kernels.fused_projections);
  EXPECT_FALSE(runtime.kernels.fuses_projections());  // projections fuse only with the fused kernels
  config.fused_kernels = true;
  config.fused_projections = false;
  runtime = train::setup_runtime(config);
  EXPECT_TRUE(runtime.kernels.fused_kernels);
  EXPECT_FALSE(runtime.kernels.fuses_projections());
}

TEST(Runtime, Bf16OnCpuIsAUsageError) {
  auto config = cpu_config();
  config.dtype = "bf16";
  try {
    train::setup_runtime(config);
    FAIL() << "bf16 on CPU was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("train.dtype=bf16"), std::string::npos) << e.what();
  }
}
