// The pipeline behind `ember data prepare`: expand the inputs into a sorted file list
// (input_files.h), read each file's documents (document_reader.h: text by a document unit, JSONL,
// Parquet; gzip / zstd decompressed), tokenize them in batches on several threads, and stream them
// into one HDF5 token store, or into shards of about `shard_tokens` tokens each. Memory stays
// bounded by one batch of documents (and one whole file for the `file` unit, one Parquet row
// group) plus the writer's chunk buffers, whatever the total input size.
//
// Files are skipped, counted by reason (and named at --log-level debug), rather than failing the
// run when they are unreadable (cannot be opened), binary (a NUL byte in the first MiB of text),
// not UTF-8 (for the `file` unit; with other units invalid UTF-8 is an error naming file and
// line) or empty (no document). Inputs that yield no document at all are an error and write nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/document_reader.h"
#include "data/tokenizer/tokenizer.h"

namespace ember::data {

struct PrepareOptions {
  std::vector<std::string> inputs;    ///< files, directories or glob patterns
  std::vector<std::string> excludes;  ///< fnmatch patterns (input_files.h)
  DocumentUnit unit = DocumentUnit::kAuto;
  std::string jsonl_field = "text";   ///< JSONL field / Parquet column
  std::string out;
  int64_t shard_tokens = 0;  ///< 0 = one file
  int compression = 0;       ///< deflate level 0..9
  std::string eos_token;     ///< empty = the first of kEosCandidates the tokenizer knows
  int threads = 0;           ///< tokenizer threads; <= 0 = one per hardware thread
};

struct PrepareSummary {
  std::vector<std::string> files;  ///< token stores written
  int64_t input_files = 0;         ///< files read (not skipped)
  uint64_t input_bytes = 0;        ///< their (decompressed) bytes
  std::map<std::string, int64_t> skipped;  ///< skipped files by reason
  int64_t documents = 0;
  int64_t tokens = 0;

  /// One line: "read 12 files (1.5 MB): 40 documents, 380000 tokens; skipped 3 files (2 binary, 1 empty)"
  /// (sizes in bytes, kB, MB or GB).
  std::string describe() const;
};

/// EOS spellings tried in order when no --eos is given.
inline const std::vector<std::string> kEosCandidates = {"<|eos|>", "<|endoftext|>", "<|end_of_text|>", "</s>"};

/// The EOS id for a tokenizer; throws ember::UsageError when the token is unknown.
int32_t resolve_eos_id(const Tokenizer& tokenizer, const std::string& eos_token);

/// Name of shard `index` of `out` (NAME.h5 -> NAME-00003.h5).
std::string shard_path(const std::string& out, int64_t index);

/// Runs the pipeline; throws ember::UsageError for bad options and inputs that yield no document,
/// and ember::Error naming the input file (and line or row) for bad data.
PrepareSummary prepare_token_store(const Tokenizer& tokenizer, const PrepareOptions& options);

}  // namespace ember::data
