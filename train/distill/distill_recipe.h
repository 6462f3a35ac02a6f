// `ember distill`: trains a student on a frozen teacher's distributions or generations.
//
// One step = one optimizer update over the step's micro-batches (distill_batches.h):
//   online / offline   train.batch_size dataset sequences (accumulated in micro-batches)
//   onpolicy           round(onpolicy_ratio x batch_size) student samples + the rest from the data
//   seqkd              train.batch_size teacher generations (fewer when filtered by the verifier)
// Loss of the step, each term normalised by its GLOBAL token count over the step:
//   L = (1 - ce_weight) x sum_kd-tokens D(teacher, student) / N_kd  +  ce_weight x sum_ce-tokens CE / N_ce
// (seqkd trains on cross-entropy alone; on-policy samples carry no cross-entropy.)
//
// Metrics per logged step: kd_loss, ce_loss (per token), agreement (teacher-student top-1 on KD
// tokens), tokens/s, FLOPs of the teacher (forwards and generation: 2N + attention per token) and
// of the student (training 6N + ..., plus its own sampling), per step and in total; held-out
// greedy accuracy on distill.task at eval points. Checkpoints hold the student with its model
// section and the shared tokenizer, so `ember eval`, `ember generate` and export read them.
//
// Every mode runs on one process or on a parallel.dp x parallel.tp mesh under mpirun / srun:
// teacher and student sharded over tp with full-vocabulary logits, dataset rows and sampled prompts
// split over dp, N_kd and N_ce summed over dp (docs/distributed.md, "RL and distillation").
#pragma once

#include <string>

#include "train/distill/distill_config.h"

namespace ember::train::distill {

/// Runs (or resumes) the distillation described by `config`; `resolved_yaml` (with the student's
/// model section) is saved in the run directory and in every checkpoint.
void run_distill(const DistillConfig& config, const std::string& resolved_yaml);

}  // namespace ember::train::distill
