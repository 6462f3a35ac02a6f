// Training a byte-level BPE tokenizer from text / JSONL files. Ids: the special tokens first (in
// the order given), then the 256 byte tokens in byte order, then one token per learned merge.
// The result uses the GPT-4 split pattern with ByteLevel, so `tokenizers` loads and encodes it
// identically.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/tokenizer/corpus_words.h"
#include "data/tokenizer/regex_splitter.h"
#include "data/tokenizer/tokenizer.h"

namespace ember::data {

/// The special tokens every Ember tokenizer carries (reasoning tags included).
inline const std::vector<std::string> kDefaultSpecialTokens = {"<|bos|>", "<|eos|>", "<|pad|>", "<think>",
                                                               "</think>", "<answer>", "</answer>"};

struct TrainOptions {
  int64_t vocab_size = 32000;   ///< special + byte + merged tokens; training stops there
  int64_t min_frequency = 2;    ///< a pair seen fewer times is never merged
  std::vector<std::string> special_tokens = kDefaultSpecialTokens;
  std::string split_pattern = std::string(kGpt4SplitPattern);
  std::string jsonl_field = "text";  ///< the document field of .jsonl inputs
  int threads = 0;                   ///< word-counting threads; <= 0: one per hardware thread
};

/// Trains on files (plain text, or .jsonl with `jsonl_field`). Throws ember::UsageError for
/// impossible options and ember::Error naming the file for unreadable inputs.
Tokenizer train_tokenizer(const std::vector<std::string>& input_files, const TrainOptions& options);

/// Trains on in-memory documents.
Tokenizer train_tokenizer_on_texts(const std::vector<std::string>& texts, const TrainOptions& options);

/// Learns merges from counted words (what both entry points above do after counting).
Tokenizer train_tokenizer_on_words(const WordCounts& words, const TrainOptions& options);

}  // namespace ember::data
