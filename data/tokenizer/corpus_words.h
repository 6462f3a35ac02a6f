// Counting pre-token words in a training corpus: text is split at special tokens (which are never
// learned from), then by the pre-tokenizer regex, and each distinct piece is counted in a hash
// map. Files stream in chunks cut at line ends, counted on several threads with one map each.
//
// Inputs: a file ending in .jsonl holds one JSON object per line whose string field
// `jsonl_field` is a document; any other file is plain UTF-8 text (invalid bytes are replaced by
// U+FFFD). Empty lines in JSONL files are skipped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/tokenizer/string_hash.h"

namespace ember::data {

using WordCounts = StringMap<uint64_t>;

struct CorpusOptions {
  std::string split_pattern;
  std::vector<std::string> special_tokens;
  std::string jsonl_field = "text";
  int threads = 0;  ///< <= 0: one per hardware thread
};

/// Counts the pieces of every input file. Throws ember::Error naming the file (and line, for
/// JSONL) when a file is unreadable or a line is not a JSON object with a string field.
WordCounts count_corpus_words(const std::vector<std::string>& files, const CorpusOptions& options);

/// Counts the pieces of in-memory documents.
WordCounts count_text_words(const std::vector<std::string>& texts, const CorpusOptions& options);

}  // namespace ember::data
