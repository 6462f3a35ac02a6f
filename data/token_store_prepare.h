// The pipeline behind `ember data prepare`: read documents from text / JSONL files
// (document_reader.h), tokenize them in batches on several threads, and stream them into one HDF5
// token store, or into shards of about `shard_tokens` tokens each. Memory stays bounded by one
// batch of documents plus the writer's chunk buffers, whatever the input size.
//
// Shards: with shard_tokens > 0, `out` = DIR/NAME.h5 becomes DIR/NAME-00000.h5, DIR/NAME-00001.h5,
// ...; a shard is closed at the first document boundary at or past shard_tokens tokens.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/tokenizer/tokenizer.h"

namespace ember::data {

struct PrepareOptions {
  std::vector<std::string> inputs;
  std::string jsonl_field = "text";
  std::string out;
  int64_t shard_tokens = 0;  ///< 0 = one file
  int compression = 0;       ///< deflate level 0..9
  std::string eos_token;     ///< empty = the first of kEosCandidates the tokenizer knows
  int threads = 0;           ///< tokenizer threads; <= 0 = one per hardware thread
};

struct PrepareSummary {
  std::vector<std::string> files;
  int64_t documents = 0;
  int64_t tokens = 0;
};

/// EOS spellings tried in order when no --eos is given.
inline const std::vector<std::string> kEosCandidates = {"<|eos|>", "<|endoftext|>", "<|end_of_text|>", "</s>"};

/// The EOS id for a tokenizer; throws ember::UsageError when the token is unknown.
int32_t resolve_eos_id(const Tokenizer& tokenizer, const std::string& eos_token);

/// Name of shard `index` of `out` (NAME.h5 -> NAME-00003.h5).
std::string shard_path(const std::string& out, int64_t index);

/// Runs the pipeline; throws ember::UsageError for bad options and ember::Error naming the input
/// file (and line) for bad data.
PrepareSummary prepare_token_store(const Tokenizer& tokenizer, const PrepareOptions& options);

}  // namespace ember::data
