// The frozen teacher and the shared-tokenizer check (see teacher.h).
#include "train/distill/teacher.h"

#include <c10/core/GradMode.h>

#include "core/error.h"
#include "core/files.h"
#include "checkpoint/model_weights.h"
#include "checkpoint/resolve.h"
#include "checkpoint/run_files.h"
#include "train/parallel_setup.h"
#include "train/runtime.h"

namespace ember::train::distill {

int64_t shared_vocabulary(const TokenizerSide& teacher, const TokenizerSide& student) {
  if (teacher.tokenizer->sha256() != student.tokenizer->sha256()) {
    fail("teacher and student tokenizers differ: {} (vocabulary {}, sha256 {}) vs {} (vocabulary {}, sha256 {}); "
         "distillation compares token distributions, so both must use the same tokenizer.json",
         teacher.source, teacher.tokenizer->vocab_size(), teacher.tokenizer->sha256().substr(0, 12), student.source,
         student.tokenizer->vocab_size(), student.tokenizer->sha256().substr(0, 12));
  }
  const int64_t vocab = teacher.tokenizer->vocab_size();
  for (const auto* side : {&teacher, &student}) {
    if (side->embedding_rows < vocab) {
      fail("{} has {} embedding rows, fewer than its tokenizer's vocabulary ({})", side->source, side->embedding_rows,
           vocab);
    }
  }
  return vocab;
}

Teacher::Teacher(const std::filesystem::path& checkpoint, const c10::Device& device,
                 const model::kernels::KernelPolicy& kernels)
    : checkpoint_(checkpoint::resolve_checkpoint(checkpoint)),
      config_(checkpoint::read_model_config(checkpoint_)),
      tokenizer_(data::Tokenizer::load(checkpoint::checkpoint_tokenizer(checkpoint_).string())),
      tokenizer_json_(read_file(checkpoint::checkpoint_tokenizer(checkpoint_))),
      model_(checkpoint::load_model(checkpoint_, kernels)) {
  model_->to(device);
  model_->eval();
  for (auto& parameter : model_->parameters()) parameter.set_requires_grad(false);
}

void Teacher::parallelize(const distributed::Mesh& mesh) {
  distributed::parallelize(*model_, mesh, full_logits_plan());
  for (auto& parameter : model_->parameters()) parameter.set_requires_grad(false);
}

at::Tensor Teacher::logits(const at::Tensor& input_ids, const at::Tensor& doc_ids, int64_t vocab, bool bf16_autocast) {
  c10::NoGradGuard no_grad;
  AutocastScope autocast(bf16_autocast);
  return model_->forward(input_ids, doc_ids).narrow(-1, 0, vocab);
}

}  // namespace ember::train::distill
