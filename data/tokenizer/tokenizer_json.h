// tokenizer.json (the Hugging Face `tokenizers` format) <-> TokenizerSpec, for the byte-level BPE
// family (GPT-2, Llama-3, Qwen2). Anything outside that family fails with an ember::UsageError
// naming the feature and the file; see docs/formats.md ("Tokenizer") for the supported subset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/tokenizer/added_tokens.h"

namespace ember::data {

/// How text is split into pieces before BPE.
enum class PreTokenizerKind {
  /// Sequence[Split(Regex, Isolated), ByteLevel(use_regex=false)]: Llama-3, Qwen2, Ember's own.
  SplitThenByteLevel,
  /// ByteLevel(use_regex=true) alone: GPT-2 (the GPT-2 pattern).
  ByteLevelWithRegex,
  /// ByteLevel(use_regex=false) alone: each stretch between added tokens is one piece.
  ByteLevelOnly,
};

/// Everything Ember needs from a tokenizer.json, in its written form (byte-level spellings).
struct TokenizerSpec {
  std::vector<std::pair<std::string, int32_t>> vocab;       ///< model vocabulary, by id
  std::vector<std::pair<std::string, std::string>> merges;  ///< in rank order
  std::vector<AddedToken> added_tokens;
  bool nfc = false;  ///< normalizer NFC
  PreTokenizerKind pre_tokenizer = PreTokenizerKind::SplitThenByteLevel;
  std::string split_pattern;  ///< the Split regex (SplitThenByteLevel only)
  bool add_prefix_space = false;
  bool ignore_merges = false;
  std::string unk_token;                    ///< kept for saving; byte-level never needs it
  nlohmann::json post_processor = nullptr;  ///< kept verbatim on save; encode() does not apply it
};

/// Parses tokenizer.json text; `source` (the file name) appears in every error message.
TokenizerSpec parse_tokenizer_json(std::string_view text, const std::string& source);

/// The canonical tokenizer.json text of `spec` (two-space indent, vocab in id order, merges as
/// pairs), loadable by `tokenizers.Tokenizer.from_file`.
std::string serialize_tokenizer_json(const TokenizerSpec& spec);

}  // namespace ember::data
