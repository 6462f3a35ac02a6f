// The frozen teacher of a distillation run, and the shared-tokenizer rule.
//
// Teacher and student compare distributions token by token, so they must use the same tokenizer:
// the same tokenizer.json (by SHA-256 of its canonical form, data::Tokenizer::sha256). Their
// embedding tables may have different numbers of rows (vocabulary padding for kernels or tensor
// parallelism): logits of both are sliced to the tokenizer's vocabulary V before any comparison,
// so padding rows never receive probability mass.
//
// Under tensor parallelism the teacher is sharded like the student (parallelize below): each tp rank
// keeps its slice of every projection and the LM head all-gathers its logits, so logits() returns
// the full vocabulary on every rank.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <ATen/Tensor.h>

#include "data/tokenizer/tokenizer.h"
#include "distributed/mesh.h"
#include "model/model_config.h"
#include "model/transformer.h"

namespace ember::train::distill {

/// One side's tokenizer and embedding rows, and where they came from (for messages).
struct TokenizerSide {
  const data::Tokenizer* tokenizer = nullptr;
  int64_t embedding_rows = 0;
  std::string source;
};

/// The shared vocabulary V; throws ember::Error naming both sources when the tokenizers differ or
/// when a model has fewer embedding rows than V.
int64_t shared_vocabulary(const TokenizerSide& teacher, const TokenizerSide& student);

class Teacher {
 public:
  /// Loads and verifies the checkpoint (or a run directory's newest), frozen in eval mode on `device`,
  /// running the kernels of `kernels`.
  Teacher(const std::filesystem::path& checkpoint, const c10::Device& device,
          const model::kernels::KernelPolicy& kernels);

  const std::filesystem::path& checkpoint() const { return checkpoint_; }
  const model::ModelConfig& config() const { return config_; }
  const data::Tokenizer& tokenizer() const { return tokenizer_; }
  const std::string& tokenizer_json() const { return tokenizer_json_; }
  model::Transformer& model() { return model_; }

  /// Keeps this rank's tp shard of the (frozen) teacher, with full-vocabulary logits; a no-op at tp 1.
  void parallelize(const distributed::Mesh& mesh);

  /// Teacher logits [B, T, vocab] without gradient (bf16 autocast when asked), sliced to `vocab`.
  at::Tensor logits(const at::Tensor& input_ids, const at::Tensor& doc_ids, int64_t vocab, bool bf16_autocast);

 private:
  std::filesystem::path checkpoint_;
  model::ModelConfig config_;
  data::Tokenizer tokenizer_;
  std::string tokenizer_json_;
  model::Transformer model_;
};

}  // namespace ember::train::distill
