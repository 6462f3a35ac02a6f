// Hugging Face config.json <-> ModelConfig for the three dense families Ember's Transformer is:
//
//   Ember model                 architectures          model_type
//   plain                       LlamaForCausalLM       llama
//   qk_norm                     Qwen3ForCausalLM       qwen3
//   attn_bias (q, k, v only)    Qwen2ForCausalLM       qwen2
//
// (Llama's and Qwen3's attention_bias would also put a bias on o_proj, which Ember does not
// have, so attn_bias exports as Qwen2; qk_norm together with attn_bias has no HF equivalent.)
// Export writes every field explicitly (head_dim as an integer, legacy rope_theta, dtype: transformers 5's
// name for the deprecated torch_dtype).
// Import accepts exactly what the Transformer computes and fails naming any field that would
// change the maths: rope_scaling, sliding windows, MoE, other activations, o_proj / MLP biases.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "export/special_tokens.h"
#include "model/model_config.h"

namespace ember::exporting {

enum class HfArchitecture { kLlama, kQwen2, kQwen3 };

/// The family a config exports as; throws ember::UsageError for qk_norm with attn_bias.
HfArchitecture hf_architecture_of(const model::ModelConfig& config);

/// "LlamaForCausalLM", ... and "llama", ...
std::string hf_class_name(HfArchitecture architecture);
std::string hf_model_type(HfArchitecture architecture);

/// config.json for `config`; `dtype` is "float32", "bfloat16" or "float16".
nlohmann::json hf_config_json(const model::ModelConfig& config, const SpecialTokens& special,
                              const std::string& dtype);

struct ImportedHfConfig {
  HfArchitecture architecture = HfArchitecture::kLlama;
  model::ModelConfig model;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_id;
  std::optional<int64_t> pad_token_id;
};

/// Reads a config.json (`source` is its path, named in every error). Throws ember::UsageError for
/// an unsupported architecture or field and for missing or mistyped required fields.
ImportedHfConfig parse_hf_config(const nlohmann::json& config, const std::string& source);

/// An int, a list of ints or null as a list of ids (`key` and `source` name it in errors).
std::vector<int64_t> token_id_list(const nlohmann::json& value, const std::string& key, const std::string& source);

}  // namespace ember::exporting
