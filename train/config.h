// Experiment configs: the typed structs every recipe reads, and their schema (keys, types,
// defaults, docs, checks). `describe_*` binds a struct to a config::Schema; recipes combine the
// sections they use. A recipe's own section is described beside the recipe (rl/rl_config.h,
// distill/distill_config.h, bench.h), never here; docs/configs.md is the reference the CLI
// assembles from all of them (apps/config_reference.h, `ember config docs`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config/schema.h"
#include "model/model_config.h"
#include "model/model_schema.h"

namespace ember::train {

struct RunConfig {
  std::string dir = "runs/default";  ///< run directory: config.yaml, metrics.jsonl, checkpoints/
};

struct TrainConfig {
  int64_t steps = 100;
  int64_t seed = 1234;
  int64_t batch_size = 16;        ///< global: sequences per optimizer step over all dp ranks
  int64_t micro_batch_size = 0;   ///< per rank per forward; 0 = batch_size / dp (no accumulation)
  int64_t seq_len = 256;
  double grad_clip = 1.0;
  int64_t log_interval = 10;
  int64_t eval_interval = 0;
  std::string device = "auto";
  std::string dtype = "auto";
  int64_t threads = 0;
  int64_t max_bad_steps = 5;
  double spike_zscore = 0;
  int64_t spike_window = 50;
  bool fused_kernels = true;      ///< model::kernels::KernelPolicy::fused_kernels (Runtime::kernels)
  bool fused_lm_loss = true;      ///< training loss through model::kernels::fused_linear_cross_entropy (tp = 1)
  bool fused_projections = true;  ///< model::kernels::KernelPolicy::fused_projections (Runtime::kernels)
  std::string attention_backend = "auto";  ///< SDPA backend on CUDA (auto, flash, cudnn, efficient, math)
};

struct OptimConfig {
  double lr = 3e-4;
  double min_lr_ratio = 0.1;
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  std::string schedule = "cosine";
  int64_t warmup_steps = 0;
  int64_t schedule_steps = 0;
  double decay_fraction = 0.2;
  bool decay_embeddings = false;
  bool fused = true;
};

struct CheckpointConfig {
  int64_t interval = 0;
  int64_t keep = 3;
  std::string resume = "auto";
  std::string on_corrupt = "fallback";
  bool allow_schedule_change = false;  ///< accept a resume that changes lr(step) (train/run_dir.h)
  bool rewind = false;                 ///< move checkpoints newer than the start step aside (train/run_dir.h)
};

struct ParallelConfig {
  int64_t dp = 0;
  int64_t tp = 1;
  int64_t zero = 0;
  double timeout_s = 300;
  double bucket_mb = 25;
  bool overlap_grad_reduce = true;
};

struct MetricsConfig {
  double peak_flops = 0;
  bool tensorboard = true;
};

struct DataConfig {
  std::string tokenizer;
  std::vector<std::string> train;
  std::vector<double> weights;
  double val_fraction = 0.01;
  std::vector<std::string> val;
  std::vector<double> val_weights;
  int64_t val_tokens = 0;
  bool mask_documents = true;
  int64_t prefetch = 4;
};

/// The sections every recipe reads (pretrain, rl, distill): run, train, optim, checkpoint,
/// parallel, metrics.
struct RecipeCommon {
  RunConfig run;
  TrainConfig train;
  OptimConfig optim;
  CheckpointConfig checkpoint;
  ParallelConfig parallel;
  MetricsConfig metrics;
};

/// Everything `ember pretrain` reads.
struct PretrainConfig : RecipeCommon {
  model::ModelConfig model;
  DataConfig data;
};

void describe_run(config::Schema& schema, RunConfig& c);
void describe_train(config::Schema& schema, TrainConfig& c);
void describe_optim(config::Schema& schema, OptimConfig& c);
void describe_checkpoint(config::Schema& schema, CheckpointConfig& c);
void describe_parallel(config::Schema& schema, ParallelConfig& c);
void describe_metrics(config::Schema& schema, MetricsConfig& c);
using model::describe_model;  ///< model/model_schema.h
void describe_data(config::Schema& schema, DataConfig& c);
/// The six shared sections of RecipeCommon, in that order.
void describe_common(config::Schema& schema, RecipeCommon& c);

/// The full pretraining schema bound to `c`.
void describe_pretrain(config::Schema& schema, PretrainConfig& c);

}  // namespace ember::train
