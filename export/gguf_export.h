// `ember export --format gguf`: one GGUF v3 file that llama.cpp runs.
//
// Architecture: `llama` for plain models (q and k rows permuted from Hugging Face's rotate-half
// layout to llama.cpp's adjacent-pair RoPE: GGUF row h*d + 2i + j = HF row h*d + j*d/2 + i, with
// n_heads for q and n_kv_heads for k), `qwen3` with qk_norm and `qwen2` with attn_bias (both
// NEOX RoPE, so no permutation). Tensor names follow llama.cpp (token_embd, blk.N.attn_q, ...,
// output_norm, output; no output.weight when tied).
//
// Metadata carries the types llama.cpp's loader checks: counts and lengths u32, epsilon and
// rope base f32; the tokenizer as `gpt2` (byte-level BPE) with its pre-tokenizer name, one token
// per embedding row (missing ids padded as "[PAD<id>]", type unused), token types (control for
// special added tokens, user-defined for other added tokens), "a b" merges, bos / eos / padding
// ids and the chat template.
//
// Weights: 1-D tensors always F32; matrices in the chosen type. Q8_0 rows whose length is not a
// multiple of 32 fall back to F16, as llama.cpp's converter does.
#pragma once

#include <filesystem>
#include <string>

#include "export/export_source.h"
#include "export/gguf_writer.h"

namespace ember::exporting {

/// "f32" / "f16" / "bf16" / "q8_0"; throws ember::UsageError for anything else.
GgmlType parse_gguf_dtype(const std::string& text);

/// The llama.cpp pre-tokenizer name of a tokenizer ("llama-bpe", "qwen2", "gpt-2"); throws
/// ember::UsageError for a split pattern llama.cpp does not know.
std::string gguf_pre_tokenizer(const data::Tokenizer& tokenizer);

/// Writes `out` (a .gguf file, replacing a previous one). Throws ember::Error.
void export_gguf(const ExportSource& source, const std::filesystem::path& out, GgmlType type);

/// Rows of a [rows, cols] matrix reordered from rotate-half to adjacent pairs within each of
/// `heads` heads (llama.cpp's convert_hf_to_gguf permute).
std::vector<float> permute_rope_rows(std::span<const float> values, int64_t rows, int64_t cols, int64_t heads);

}  // namespace ember::exporting
