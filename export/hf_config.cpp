// Hugging Face config.json <-> ModelConfig (see hf_config.h).
#include "export/hf_config.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace ember::exporting {
namespace {

using nlohmann::json;

constexpr const char* kMoeFields[] = {"num_experts", "num_local_experts", "num_experts_per_tok", "moe_intermediate_size",
                                      "n_routed_experts", "n_shared_experts"};

bool present(const json& config, const char* key) { return config.contains(key) && !config[key].is_null(); }

int64_t required_int(const json& config, const char* key, const std::string& source) {
  if (!present(config, key)) fail_usage("'{}' has no {}", source, key);
  if (!config[key].is_number_integer()) fail_usage("'{}': {} must be an integer, got {}", source, key, config[key].dump());
  return config[key].get<int64_t>();
}

int64_t optional_int(const json& config, const char* key, int64_t fallback, const std::string& source) {
  return present(config, key) ? required_int(config, key, source) : fallback;
}

double optional_number(const json& config, const char* key, double fallback, const std::string& source) {
  if (!present(config, key)) return fallback;
  if (!config[key].is_number()) fail_usage("'{}': {} must be a number, got {}", source, key, config[key].dump());
  return config[key].get<double>();
}

bool optional_bool(const json& config, const char* key, bool fallback, const std::string& source) {
  if (!present(config, key)) return fallback;
  if (!config[key].is_boolean()) fail_usage("'{}': {} must be true or false, got {}", source, key, config[key].dump());
  return config[key].get<bool>();
}

std::string optional_string(const json& config, const char* key, const std::string& fallback, const std::string& source) {
  if (!present(config, key)) return fallback;
  if (!config[key].is_string()) fail_usage("'{}': {} must be a string, got {}", source, key, config[key].dump());
  return config[key].get<std::string>();
}

HfArchitecture architecture_of_class(const json& config, const std::string& source) {
  if (!config.contains("architectures") || !config["architectures"].is_array() || config["architectures"].size() != 1 ||
      !config["architectures"][0].is_string()) {
    fail_usage("'{}': architectures must list exactly one model class", source);
  }
  const std::string name = config["architectures"][0].get<std::string>();
  for (HfArchitecture candidate : {HfArchitecture::kLlama, HfArchitecture::kQwen2, HfArchitecture::kQwen3}) {
    if (hf_class_name(candidate) != name) continue;
    const std::string type = optional_string(config, "model_type", hf_model_type(candidate), source);
    if (type != hf_model_type(candidate)) {
      fail_usage("'{}': model_type '{}' does not match architectures {}", source, type, name);
    }
    return candidate;
  }
  fail_usage("'{}': unsupported architecture {} (import supports LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)",
             source, name);
}

double rope_theta_of(const json& config, const std::string& source) {
  if (present(config, "rope_scaling")) {
    fail_usage("'{}': rope_scaling {} is not supported (Ember uses plain RoPE)", source, config["rope_scaling"].dump());
  }
  if (present(config, "partial_rotary_factor") && optional_number(config, "partial_rotary_factor", 1, source) != 1.0) {
    fail_usage("'{}': partial_rotary_factor is not supported (Ember rotates the whole head)", source);
  }
  double theta = optional_number(config, "rope_theta", 10000.0, source);
  if (present(config, "rope_parameters")) {
    const json& parameters = config["rope_parameters"];
    if (!parameters.is_object()) fail_usage("'{}': rope_parameters must be an object", source);
    if (parameters.contains("rope_type") && parameters["rope_type"] != "default") {
      fail_usage("'{}': rope_parameters.rope_type {} is not supported (Ember uses plain RoPE)", source,
                 parameters["rope_type"].dump());
    }
    theta = optional_number(parameters, "rope_theta", theta, source);
    for (const auto& [key, value] : parameters.items()) {
      if (key != "rope_type" && key != "rope_theta") {
        fail_usage("'{}': rope_parameters.{} is not supported (Ember uses plain RoPE)", source, key);
      }
    }
  }
  return theta;
}

void reject_unsupported_fields(const json& config, HfArchitecture architecture, const std::string& source) {
  const std::string activation = optional_string(config, "hidden_act", "silu", source);
  if (activation != "silu") fail_usage("'{}': hidden_act '{}' is not supported (Ember's MLP is SwiGLU)", source, activation);
  for (const char* key : kMoeFields) {
    if (present(config, key) && !(config[key].is_number() && config[key].get<double>() == 0)) {
      fail_usage("'{}': {} (mixture of experts) is not supported", source, key);
    }
  }
  if (optional_bool(config, "use_sliding_window", false, source)) {
    fail_usage("'{}': use_sliding_window is not supported (Ember attends over the whole context)", source);
  }
  if (present(config, "layer_types")) {
    for (const auto& type : config["layer_types"]) {
      if (type != "full_attention") fail_usage("'{}': layer_types entry {} is not supported", source, type.dump());
    }
  }
  if (optional_bool(config, "mlp_bias", false, source)) fail_usage("'{}': mlp_bias is not supported", source);
  if (architecture != HfArchitecture::kQwen2 && optional_bool(config, "attention_bias", false, source)) {
    fail_usage("'{}': attention_bias is not supported for {} (it also biases o_proj)", source,
               hf_class_name(architecture));
  }
}

}  // namespace

HfArchitecture hf_architecture_of(const model::ModelConfig& config) {
  if (config.qk_norm && config.attn_bias) {
    fail_usage("a model with both model.qk_norm and model.attn_bias has no Hugging Face architecture");
  }
  if (config.qk_norm) return HfArchitecture::kQwen3;
  if (config.attn_bias) return HfArchitecture::kQwen2;
  return HfArchitecture::kLlama;
}

std::string hf_class_name(HfArchitecture architecture) {
  switch (architecture) {
    case HfArchitecture::kQwen2: return "Qwen2ForCausalLM";
    case HfArchitecture::kQwen3: return "Qwen3ForCausalLM";
    case HfArchitecture::kLlama: break;
  }
  return "LlamaForCausalLM";
}

std::string hf_model_type(HfArchitecture architecture) {
  switch (architecture) {
    case HfArchitecture::kQwen2: return "qwen2";
    case HfArchitecture::kQwen3: return "qwen3";
    case HfArchitecture::kLlama: break;
  }
  return "llama";
}

json hf_config_json(const model::ModelConfig& config, const SpecialTokens& special, const std::string& dtype) {
  const HfArchitecture architecture = hf_architecture_of(config);
  json out = {
      {"architectures", {hf_class_name(architecture)}},
      {"model_type", hf_model_type(architecture)},
      {"vocab_size", config.vocab_size},
      {"hidden_size", config.d_model},
      {"intermediate_size", config.ffn_hidden},
      {"num_hidden_layers", config.n_layers},
      {"num_attention_heads", config.n_heads},
      {"num_key_value_heads", config.n_kv_heads},
      {"head_dim", config.resolved_head_dim()},
      {"hidden_act", "silu"},
      {"max_position_embeddings", config.max_seq_len},
      {"initializer_range", config.init_std},
      {"rms_norm_eps", config.norm_eps},
      {"rope_theta", config.rope_theta},
      {"rope_scaling", nullptr},
      {"attention_dropout", 0.0},
      {"tie_word_embeddings", config.tie_embeddings},
      {"dtype", dtype},
      {"use_cache", true},
      {"bos_token_id", special.bos ? json(*special.bos) : json(nullptr)},
      {"eos_token_id", special.eos_json()},
  };
  if (special.pad) out["pad_token_id"] = *special.pad;
  if (architecture == HfArchitecture::kLlama) {
    out["attention_bias"] = false;
    out["mlp_bias"] = false;
  } else {
    if (architecture == HfArchitecture::kQwen3) out["attention_bias"] = false;
    out["use_sliding_window"] = false;
    out["sliding_window"] = nullptr;
    out["max_window_layers"] = config.n_layers;
  }
  return out;
}

std::vector<int64_t> token_id_list(const json& value, const std::string& key, const std::string& source) {
  if (value.is_null()) return {};
  if (value.is_number_integer()) return {value.get<int64_t>()};
  if (value.is_array() && std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_number_integer(); })) {
    return value.get<std::vector<int64_t>>();
  }
  fail_usage("'{}': {} must be a token id or a list of them, got {}", source, key, value.dump());
}

ImportedHfConfig parse_hf_config(const json& config, const std::string& source) {
  if (!config.is_object()) fail_usage("'{}' is not a JSON object", source);
  ImportedHfConfig imported;
  imported.architecture = architecture_of_class(config, source);
  reject_unsupported_fields(config, imported.architecture, source);
  const bool qwen = imported.architecture != HfArchitecture::kLlama;

  model::ModelConfig& model = imported.model;
  model.vocab_size = required_int(config, "vocab_size", source);
  model.d_model = required_int(config, "hidden_size", source);
  model.ffn_hidden = required_int(config, "intermediate_size", source);
  model.n_layers = required_int(config, "num_hidden_layers", source);
  model.n_heads = required_int(config, "num_attention_heads", source);
  model.n_kv_heads = optional_int(config, "num_key_value_heads", model.n_heads, source);
  const int64_t default_head_dim =
      imported.architecture == HfArchitecture::kQwen3 ? 128 : (model.n_heads > 0 ? model.d_model / model.n_heads : 0);
  const int64_t head_dim = optional_int(config, "head_dim", default_head_dim, source);
  model.head_dim = (model.n_heads > 0 && head_dim * model.n_heads == model.d_model) ? 0 : head_dim;
  model.max_seq_len = optional_int(config, "max_position_embeddings", qwen ? 32768 : 2048, source);
  model.rope_theta = rope_theta_of(config, source);
  model.norm_eps = optional_number(config, "rms_norm_eps", 1e-6, source);
  model.tie_embeddings = optional_bool(config, "tie_word_embeddings", false, source);
  model.init_std = optional_number(config, "initializer_range", 0.02, source);
  model.qk_norm = imported.architecture == HfArchitecture::kQwen3;
  model.attn_bias = imported.architecture == HfArchitecture::kQwen2;
  for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"}) {
    if (config[key].get<int64_t>() < 1) fail_usage("'{}': {} must be positive", source, key);
  }
  if (model.n_kv_heads < 1 || model.n_heads % model.n_kv_heads != 0) {
    fail_usage("'{}': num_attention_heads ({}) must be a multiple of num_key_value_heads ({})", source, model.n_heads,
               model.n_kv_heads);
  }
  if (head_dim < 2 || head_dim % 2 != 0) fail_usage("'{}': head_dim {} must be even and positive", source, head_dim);

  if (config.contains("bos_token_id")) {
    auto bos = token_id_list(config["bos_token_id"], "bos_token_id", source);
    if (bos.size() > 1) fail_usage("'{}': bos_token_id must be a single id", source);
    if (!bos.empty()) imported.bos_token_id = bos.front();
  }
  if (config.contains("eos_token_id")) imported.eos_token_id = token_id_list(config["eos_token_id"], "eos_token_id", source);
  if (config.contains("pad_token_id")) {
    auto pad = token_id_list(config["pad_token_id"], "pad_token_id", source);
    if (pad.size() > 1) fail_usage("'{}': pad_token_id must be a single id", source);
    if (!pad.empty()) imported.pad_token_id = pad.front();
  }
  return imported;
}

}  // namespace ember::exporting
