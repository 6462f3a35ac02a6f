// The config of `ember distill`: the shared run / train / optim / checkpoint / parallel / metrics
// sections, the student's `model` section (read when the student starts fresh), `data` (token
// stores of the online, offline and on-policy modes) and `distill.*`.
#pragma once

#include <cstdint>
#include <string>

#include "core/config/schema.h"
#include "train/config.h"

namespace ember::train::distill {

/// The `distill.*` keys (their docs are in distill_config.cpp and docs/configs.md).
struct DistillOptions {
  std::string teacher;
  std::string student_init;
  std::string mode = "online";
  std::string divergence = "forward_kl";
  double beta = 0.5;
  double temperature = 1.0;
  bool t2_scaling = false;
  double ce_weight = 0.5;
  int64_t top_k = 0;
  std::string tail = "renormalize";
  std::string teacher_logits;
  double onpolicy_ratio = 1.0;
  std::string task = "word_problems";
  int64_t difficulty = 0;
  int64_t max_new_tokens = 64;
  double sample_temperature = 1.0;
  bool seqkd_correct_only = true;
  int64_t chunk_elements = int64_t(1) << 22;
  int64_t eval_samples = 200;
  int64_t eval_interval = 0;
  int64_t eval_seed = 0;
};

/// Everything `ember distill` reads.
struct DistillConfig : RecipeCommon {
  model::ModelConfig model;
  DataConfig data;
  DistillOptions distill;
};

/// The `distill` section bound to `c`.
void describe_distill_options(config::Schema& schema, DistillOptions& c);

/// The full distillation schema bound to `c`.
void describe_distill(config::Schema& schema, DistillConfig& c);

/// True for the modes whose batches come from the token stores (online, offline, on-policy with
/// a ratio below 1).
bool reads_token_stores(const DistillOptions& options);

}  // namespace ember::train::distill
