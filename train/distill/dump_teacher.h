// `ember distill dump-teacher`: runs the teacher once over the first S packed training sequences
// of a loader configuration and stores its top-k log-probs per token (teacher_logits_file.h), so
// that offline distillation pays for the teacher's forward once instead of every epoch.
//
// The loader is built from the same keys the training run uses (token stores, weights, seed,
// seq_len, validation fraction), so its packing and global sequence order are the training run's;
// the file records the loader's data fingerprint and the training run refuses a mismatch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ember::train::distill {

struct DumpTeacherOptions {
  std::string teacher;              ///< checkpoint or run directory
  std::vector<std::string> data;    ///< token stores (data.train of the training run)
  std::vector<double> weights;      ///< data.weights
  int64_t seq_len = 256;            ///< train.seq_len
  int64_t seed = 1234;              ///< train.seed
  double val_fraction = 0.01;       ///< data.val_fraction
  bool mask_documents = true;       ///< data.mask_documents (the teacher sees what training sees)
  int64_t sequences = 0;            ///< S: train.steps x train.batch_size covers a run
  int64_t top_k = 32;
  bool half_precision = true;       ///< float16 log-probs (else float32)
  int64_t batch = 16;               ///< sequences per teacher forward
  std::string device = "auto";
  std::string out;
};

/// Writes the file; logs its size and bytes per token.
void dump_teacher(const DumpTeacherOptions& options);

}  // namespace ember::train::distill
