// What the CUDA tests share: skipping without a GPU, tensor options on the GPU, and the small
// model they train and compare against the CPU.
#pragma once

#include <gtest/gtest.h>
#include <ATen/Context.h>
#include <c10/core/TensorOptions.h>

#include "model/model_config.h"

/// Skips the current test on a machine without a usable CUDA GPU (every CUDA test starts with it).
#define SKIP_WITHOUT_GPU() \
  if (!at::hasCUDA()) GTEST_SKIP() << "no usable CUDA GPU"

namespace ember::cuda_testing {

inline at::TensorOptions gpu(at::ScalarType dtype) { return at::TensorOptions().device(at::kCUDA).dtype(dtype); }

/// A 2-layer grouped-query decoder (vocabulary 256, d_model 128, 4 heads over 2 kv heads, SwiGLU
/// 320, untied LM head): big enough for every kernel path, small enough for seconds.
inline model::ModelConfig small_config(bool qk_norm) {
  model::ModelConfig c{.vocab_size = 256, .d_model = 128, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                       .ffn_hidden = 320, .max_seq_len = 128, .qk_norm = qk_norm, .tie_embeddings = false};
  return c;
}

}  // namespace ember::cuda_testing
