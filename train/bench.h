// Training-throughput benchmark (`ember bench train`): the real trainer step (forward, backward,
// clipping, AdamW) on random tokens already on the device, so the data path is not measured.
// Warm-up steps are discarded; the timed steps give tokens/s, step time and MFU against the
// stated peak (measured GEMM peak by default, or metrics.peak_flops). Generation throughput
// (`ember bench generate`): the KV-cache engine of model/generate.h on random prompts.
#pragma once

#include <string>

#include "core/config/schema.h"
#include "train/config.h"

namespace ember::train {

struct BenchConfig {
  int64_t warmup_steps = 3;
  int64_t steps = 10;
};

void describe_bench(config::Schema& schema, BenchConfig& c);

struct BenchResult {
  double tokens_per_s = 0;
  double step_ms = 0;      ///< median timed step (wall clock)
  double cpu_ms = 0;       ///< median process CPU time of a timed step (all threads)
  double mfu = 0;          ///< model FLOP/s over the peak
  double peak_flops = 0;
  std::string peak_source;
  double flops_per_token = 0;
  int64_t parameters = 0;
  std::string device;
  std::string dtype;
  int threads = 0;
  bool fused_kernels = true;  ///< train.fused_kernels: fused RMSNorm / RoPE / SwiGLU or composite ops
  bool fused_lm_loss = true;  ///< train.fused_lm_loss: chunked fused LM head + cross-entropy or logits + loss
  bool fused_projections = true;  ///< train.fused_projections: fused q/k/v and gate/up GEMMs or separate ones
  std::string attention_backend;  ///< train.attention_backend
  double final_loss = 0;

  /// One JSON object with every field (the last line `ember bench train` prints).
  std::string to_json() const;
};

BenchResult run_train_benchmark(const PretrainConfig& config, const BenchConfig& bench);

/// `ember bench generate`: greedy KV-cache generation from a checkpoint for a batch of random
/// prompts of one length, never stopping early (no stop tokens).
struct GenerateBenchOptions {
  std::string checkpoint;
  int64_t batch = 8;
  int64_t prompt_len = 32;
  int64_t new_tokens = 64;
  int threads = 2;
  int64_t repeats = 3;  ///< timed generations; the median is reported (after one warm-up)
  uint64_t seed = 0;
};

/// JSON: tokens_per_s (generated tokens of the whole batch per second, prefill included), ms
/// (median generation), batch, prompt_len, new_tokens, threads.
std::string run_generate_benchmark(const GenerateBenchOptions& options);

}  // namespace ember::train
