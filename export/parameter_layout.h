// The parameters a ModelConfig implies: every canonical (Hugging Face Llama) name with its shape,
// in the order Hugging Face and llama.cpp list them (embedding, blocks, final norm, LM head). Export
// and import check weight files against this list, so a missing, extra or misshaped tensor is
// reported by name before anything is written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace ember::exporting {

/// Which part of a decoder block (or of the model) a parameter belongs to.
enum class ParameterRole {
  kEmbedding,
  kAttentionNorm,
  kQuery,
  kQueryBias,
  kKey,
  kKeyBias,
  kValue,
  kValueBias,
  kOutput,
  kQueryNorm,
  kKeyNorm,
  kMlpNorm,
  kGate,
  kUp,
  kDown,
  kFinalNorm,
  kLmHead,
};

struct ParameterSpec {
  std::string name;            ///< canonical name, e.g. model.layers.3.self_attn.q_proj.weight
  std::vector<int64_t> shape;  ///< PyTorch order ([out, in] for matrices)
  ParameterRole role;
  int64_t layer = -1;  ///< block index; -1 outside the blocks

  int64_t numel() const;
};

/// Every parameter of a model with this config, in canonical order. lm_head.weight is listed only
/// when the embeddings are untied; q/k/v biases only with attn_bias; q/k norms only with qk_norm.
std::vector<ParameterSpec> parameter_layout(const model::ModelConfig& config);

/// "[a, b]" for messages.
std::string shape_text(const std::vector<int64_t>& shape);

}  // namespace ember::exporting
