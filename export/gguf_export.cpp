// GGUF export (see gguf_export.h).
#include "export/gguf_export.h"

#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "data/tokenizer/regex_splitter.h"
#include "export/hf_config.h"
#include "export/host_dtypes.h"
#include "export/staged_output.h"

namespace fs = std::filesystem;

namespace ember::exporting {
namespace {

enum TokenType : int32_t { kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5 };

std::string gguf_architecture(const model::ModelConfig& config) {
  switch (hf_architecture_of(config)) {
    case HfArchitecture::kQwen2: return "qwen2";
    case HfArchitecture::kQwen3: return "qwen3";
    case HfArchitecture::kLlama: break;
  }
  return "llama";
}

std::string gguf_name(const ParameterSpec& parameter) {
  const std::string block = fmt::format("blk.{}.", parameter.layer);
  switch (parameter.role) {
    case ParameterRole::kEmbedding: return "token_embd.weight";
    case ParameterRole::kAttentionNorm: return block + "attn_norm.weight";
    case ParameterRole::kQuery: return block + "attn_q.weight";
    case ParameterRole::kQueryBias: return block + "attn_q.bias";
    case ParameterRole::kKey: return block + "attn_k.weight";
    case ParameterRole::kKeyBias: return block + "attn_k.bias";
    case ParameterRole::kValue: return block + "attn_v.weight";
    case ParameterRole::kValueBias: return block + "attn_v.bias";
    case ParameterRole::kOutput: return block + "attn_output.weight";
    case ParameterRole::kQueryNorm: return block + "attn_q_norm.weight";
    case ParameterRole::kKeyNorm: return block + "attn_k_norm.weight";
    case ParameterRole::kMlpNorm: return block + "ffn_norm.weight";
    case ParameterRole::kGate: return block + "ffn_gate.weight";
    case ParameterRole::kUp: return block + "ffn_up.weight";
    case ParameterRole::kDown: return block + "ffn_down.weight";
    case ParameterRole::kFinalNorm: return "output_norm.weight";
    case ParameterRole::kLmHead: break;
  }
  return "output.weight";
}

uint32_t file_type_of(GgmlType type) {
  switch (type) {
    case GgmlType::kF16: return 1;
    case GgmlType::kQ8_0: return 7;
    case GgmlType::kBF16: return 32;
    case GgmlType::kF32: break;
  }
  return 0;
}

uint32_t u32(int64_t value, const char* what) {
  if (value < 0 || value > int64_t(UINT32_MAX)) fail("{} = {} does not fit GGUF's u32", what, value);
  return uint32_t(value);
}

void add_model_metadata(GgufWriter& writer, const model::ModelConfig& config, const std::string& arch, GgmlType type,
                        const std::string& name) {
  writer.add_string("general.architecture", arch);
  writer.add_string("general.name", name);
  writer.add_uint32("general.file_type", file_type_of(type));
  if (type == GgmlType::kQ8_0) writer.add_uint32("general.quantization_version", 2);
  const uint32_t head_dim = u32(config.resolved_head_dim(), "head_dim");
  writer.add_uint32(arch + ".context_length", u32(config.max_seq_len, "max_seq_len"));
  writer.add_uint32(arch + ".embedding_length", u32(config.d_model, "d_model"));
  writer.add_uint32(arch + ".block_count", u32(config.n_layers, "n_layers"));
  writer.add_uint32(arch + ".feed_forward_length", u32(config.ffn_hidden, "ffn_hidden"));
  writer.add_uint32(arch + ".attention.head_count", u32(config.n_heads, "n_heads"));
  writer.add_uint32(arch + ".attention.head_count_kv", u32(config.n_kv_heads, "n_kv_heads"));
  writer.add_float32(arch + ".attention.layer_norm_rms_epsilon", float(config.norm_eps));
  writer.add_uint32(arch + ".attention.key_length", head_dim);
  writer.add_uint32(arch + ".attention.value_length", head_dim);
  writer.add_uint32(arch + ".rope.dimension_count", head_dim);
  writer.add_float32(arch + ".rope.freq_base", float(config.rope_theta));
  writer.add_uint32(arch + ".vocab_size", u32(config.vocab_size, "vocab_size"));
}

void add_tokenizer_metadata(GgufWriter& writer, const ExportSource& source) {
  const data::Tokenizer& tokenizer = source.tokenizer;
  const int64_t rows = source.model.vocab_size;
  std::vector<std::string> tokens(static_cast<size_t>(rows));
  std::vector<int32_t> types(static_cast<size_t>(rows), kNormal);
  for (int64_t id = 0; id < rows; ++id) {
    auto token = tokenizer.id_to_token(int32_t(id));
    if (token) {
      tokens[size_t(id)] = *token;
    } else {
      tokens[size_t(id)] = fmt::format("[PAD{}]", id);
      types[size_t(id)] = kUnused;
    }
  }
  for (const data::AddedToken& added : tokenizer.spec().added_tokens) {
    types[size_t(added.id)] = added.special ? kControl : kUserDefined;
  }
  std::vector<std::string> merges;
  merges.reserve(tokenizer.spec().merges.size());
  for (const auto& [left, right] : tokenizer.spec().merges) merges.push_back(left + " " + right);

  writer.add_string("tokenizer.ggml.model", "gpt2");
  writer.add_string("tokenizer.ggml.pre", gguf_pre_tokenizer(tokenizer));
  writer.add_string_array("tokenizer.ggml.tokens", tokens);
  writer.add_int32_array("tokenizer.ggml.token_type", types);
  writer.add_string_array("tokenizer.ggml.merges", merges);
  const SpecialTokens& special = source.special;
  if (special.bos) writer.add_uint32("tokenizer.ggml.bos_token_id", u32(*special.bos, "bos_token_id"));
  writer.add_uint32("tokenizer.ggml.eos_token_id", u32(special.eos.front(), "eos_token_id"));
  if (special.pad) writer.add_uint32("tokenizer.ggml.padding_token_id", u32(*special.pad, "pad_token_id"));
  writer.add_bool("tokenizer.ggml.add_bos_token", false);
  writer.add_bool("tokenizer.ggml.add_eos_token", false);
  writer.add_string("tokenizer.chat_template", special.chat_template);
}

std::vector<std::byte> encode(std::span<const float> values, GgmlType type) {
  switch (type) {
    case GgmlType::kF16: return to_f16_bytes(values);
    case GgmlType::kBF16: return to_bf16_bytes(values);
    case GgmlType::kQ8_0: return to_q8_0_bytes(values);
    case GgmlType::kF32: break;
  }
  const auto bytes = std::as_bytes(values);
  return {bytes.begin(), bytes.end()};
}

bool is_previous_gguf(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && path.extension() == ".gguf";
}

}  // namespace

GgmlType parse_gguf_dtype(const std::string& text) {
  if (text == "f32") return GgmlType::kF32;
  if (text == "f16") return GgmlType::kF16;
  if (text == "bf16") return GgmlType::kBF16;
  if (text == "q8_0") return GgmlType::kQ8_0;
  fail_usage("--dtype '{}' is not supported for --format gguf (choose f32, f16, bf16 or q8_0)", text);
}

std::string gguf_pre_tokenizer(const data::Tokenizer& tokenizer) {
  const data::TokenizerSpec& spec = tokenizer.spec();
  if (spec.pre_tokenizer == data::PreTokenizerKind::ByteLevelWithRegex) return "gpt-2";
  if (spec.pre_tokenizer == data::PreTokenizerKind::SplitThenByteLevel) {
    if (spec.split_pattern == data::kGpt4SplitPattern) return "llama-bpe";
    if (spec.split_pattern == data::kQwen2SplitPattern) return "qwen2";
  }
  fail_usage("the tokenizer's pre-tokenizer (split pattern '{}') has no llama.cpp equivalent "
             "(supported: the Llama-3 / GPT-4 pattern, Qwen2's, GPT-2's)",
             spec.split_pattern);
}

std::vector<float> permute_rope_rows(std::span<const float> values, int64_t rows, int64_t cols, int64_t heads) {
  const int64_t head_dim = rows / heads, half = head_dim / 2;
  std::vector<float> out(values.size());
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < half; ++i) {
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t to = h * head_dim + 2 * i + j, from = h * head_dim + j * half + i;
        std::memcpy(&out[size_t(to * cols)], &values[size_t(from * cols)], size_t(cols) * sizeof(float));
      }
    }
  }
  return out;
}

void export_gguf(const ExportSource& source, const fs::path& out, GgmlType type) {
  const model::ModelConfig& config = source.model;
  const std::string arch = gguf_architecture(config);
  StagedOutput staged(out, StagedOutput::Kind::kFile, is_previous_gguf);

  GgufWriter writer;
  add_model_metadata(writer, config, arch, type, fmt::format("ember step {}", source.step));
  add_tokenizer_metadata(writer, source);
  for (const ParameterSpec& parameter : source.layout) {
    GgmlType tensor_type = parameter.shape.size() == 1 ? GgmlType::kF32 : type;
    if (tensor_type == GgmlType::kQ8_0 && parameter.shape.back() % kQ8BlockValues != 0) tensor_type = GgmlType::kF16;
    const int64_t permute_heads = arch != "llama"                           ? 0
                                  : parameter.role == ParameterRole::kQuery ? config.n_heads
                                  : parameter.role == ParameterRole::kKey   ? config.n_kv_heads
                                                                            : 0;
    writer.add_tensor(gguf_name(parameter), parameter.shape, tensor_type,
                      [&source, &parameter, tensor_type, permute_heads] {
                        const std::vector<float> values = source.values(parameter);
                        if (permute_heads == 0) return encode(values, tensor_type);
                        const auto permuted =
                            permute_rope_rows(values, parameter.shape[0], parameter.shape[1], permute_heads);
                        return encode(permuted, tensor_type);
                      });
  }
  writer.write(staged.path());
  staged.commit();
  log::info("exported {} to {} (GGUF, arch {}, {} tensors)", source.checkpoint_dir.string(), out.string(), arch,
            source.layout.size());
}

}  // namespace ember::exporting
