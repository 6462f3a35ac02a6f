// The HDF5 token store: tokenized documents, written once by `ember data prepare` and read by the
// loader. Layout (docs/formats.md, "HDF5 token store"), all in the root group:
//
//   dataset tokens        1-D, uint16 when vocab_size <= 65536 else uint32, chunked (optional
//                         shuffle + deflate); every document's ids, concatenated, no separators
//   dataset doc_offsets   1-D uint64, num_documents + 1 entries: document d is
//                         tokens[doc_offsets[d] : doc_offsets[d + 1]]; starts at 0, non-decreasing,
//                         ends at num_tokens
//   attributes            format ("ember.token_store"), format_version (1), vocab_size, eos_id,
//                         tokenizer_sha256 (64 hex digits), sources (file names, strings),
//                         num_documents, num_tokens (all integers int64)
//
// EOS is not stored: the loader appends eos_id after every document when it packs sequences.
// TokenStoreWriter streams documents with bounded memory (one chunk of tokens and offsets) into a
// temporary file beside the target and renames it into place on finish(). TokenStore::open
// validates everything before handing out a single token and throws ember::Error naming the file.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "data/hdf5_util.h"

namespace ember::data {

inline constexpr const char* kTokenStoreFormat = "ember.token_store";
inline constexpr int64_t kTokenStoreVersion = 1;
/// Ids are int32 in memory, so a vocabulary holds at most 2^31 - 1 ids.
inline constexpr int64_t kMaxVocabSize = (int64_t{1} << 31) - 1;

/// Bytes per stored token id for a vocabulary: 2 (uint16) up to 65536 ids, else 4 (uint32).
int token_bytes_for_vocab(int64_t vocab_size);

struct TokenStoreWriterOptions {
  int64_t vocab_size = 0;
  int32_t eos_id = 0;
  std::string tokenizer_sha256;      ///< hex SHA-256 of the tokenizer.json that produced the ids
  std::vector<std::string> sources;  ///< input file names, recorded as the `sources` attribute
  int compression = 0;               ///< 0 = none, 1..9 = deflate level (with the shuffle filter)
  int64_t chunk_tokens = 1 << 18;    ///< HDF5 chunk length of `tokens` (and the write buffer)
};

class TokenStoreWriter {
 public:
  /// Creates `path`'s temporary sibling; throws ember::UsageError on bad options (vocab, eos,
  /// compression level, hash) and ember::Error when the file cannot be created.
  TokenStoreWriter(std::string path, TokenStoreWriterOptions options);
  TokenStoreWriter(const TokenStoreWriter&) = delete;
  TokenStoreWriter& operator=(const TokenStoreWriter&) = delete;
  /// Without finish() the temporary file is removed and `path` is untouched.
  ~TokenStoreWriter();

  /// Appends one document; throws ember::Error if an id is outside [0, vocab_size).
  void add_document(std::span<const int32_t> tokens);
  /// Flushes, writes the attributes, closes and renames into place (fsync'd).
  void finish();

  int64_t num_documents() const { return num_documents_; }
  int64_t num_tokens() const { return num_tokens_; }
  const std::string& path() const { return path_; }

 private:
  void flush_tokens();
  void flush_offsets();
  void append(hid_t dataset, hid_t memory_type, const void* data, hsize_t count, hsize_t& written,
              const char* name);
  void discard() noexcept;
  /// Chunk (and buffer) length of doc_offsets: a quarter of the token chunk, 8-byte entries.
  size_t offset_chunk() const { return static_cast<size_t>(std::max<int64_t>(options_.chunk_tokens / 4, 1)); }

  std::string path_;
  std::string temp_path_;
  TokenStoreWriterOptions options_;
  h5::Handle file_, tokens_, offsets_;
  std::vector<uint32_t> token_buffer_;
  std::vector<uint64_t> offset_buffer_;
  hsize_t tokens_written_ = 0, offsets_written_ = 0;
  int64_t num_documents_ = 0, num_tokens_ = 0;
  bool finished_ = false;
};

class TokenStore {
 public:
  /// Opens and validates a store: HDF5 file, both datasets (rank, dtype, lengths), every
  /// attribute, offsets (0 .. num_tokens, non-decreasing), every id < vocab_size (chunked scan),
  /// and tokenizer_sha256 against `expected_tokenizer_sha256` when given.
  static TokenStore open(const std::string& path,
                         const std::optional<std::string>& expected_tokenizer_sha256 = {});

  TokenStore(TokenStore&&) noexcept = default;
  TokenStore& operator=(TokenStore&&) noexcept = default;

  const std::string& path() const { return path_; }
  int64_t vocab_size() const { return vocab_size_; }
  int32_t eos_id() const { return eos_id_; }
  const std::string& tokenizer_sha256() const { return tokenizer_sha256_; }
  const std::vector<std::string>& sources() const { return sources_; }
  int64_t num_documents() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  int64_t num_tokens() const { return static_cast<int64_t>(offsets_.back()); }
  /// Bytes per stored id (2 or 4).
  int token_bytes() const { return token_bytes_; }
  /// The validated doc_offsets (num_documents + 1 entries), kept in memory.
  std::span<const uint64_t> doc_offsets() const { return offsets_; }
  int64_t document_length(int64_t document) const;

  /// Copies tokens[begin, begin + count) into `out` as int32; throws on an out-of-range request.
  void read_tokens(int64_t begin, int64_t count, int32_t* out) const;
  /// One whole document.
  std::vector<int32_t> document(int64_t document) const;

  /// Streams all tokens in order, `block` at a time: visit(first_token_index, ids).
  template <typename Visit>
  void scan(int64_t block, Visit&& visit) const {
    std::vector<int32_t> buffer;
    for (int64_t begin = 0; begin < num_tokens(); begin += block) {
      buffer.resize(static_cast<size_t>(std::min(block, num_tokens() - begin)));
      read_tokens(begin, static_cast<int64_t>(buffer.size()), buffer.data());
      visit(begin, std::span<const int32_t>(buffer));
    }
  }

 private:
  TokenStore() = default;
  void validate_ids() const;

  std::string path_;
  h5::Handle file_, tokens_;
  int64_t vocab_size_ = 0;
  int32_t eos_id_ = 0;
  int token_bytes_ = 2;
  std::string tokenizer_sha256_;
  std::vector<std::string> sources_;
  std::vector<uint64_t> offsets_;
};

}  // namespace ember::data
