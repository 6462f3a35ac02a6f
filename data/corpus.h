// The documents a loader draws from: a list of token stores opened and validated together (same
// vocabulary, EOS and tokenizer), each split into training and held-out validation documents.
//
// The split is by a hash of each document's token ids, fixed (not seeded): a document is held out
// when hash / 2^64 < val_fraction. The same document therefore lands on the same side whatever
// the seed, mixture weights, rank layout or store it appears in, so no validation document is
// ever trained on. Empty documents are skipped on both sides.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/token_store.h"

namespace ember::data {

/// One document of the corpus: a store index and the document's index inside that store.
struct DocumentRef {
  uint32_t store = 0;
  uint32_t document = 0;
};

/// 64-bit hash of a document's ids (FNV-1a over the ids, then a splitmix finaliser).
class DocumentHasher {
 public:
  void add(int32_t id) { state_ = (state_ ^ static_cast<uint32_t>(id)) * 0x100000001b3ULL; }
  uint64_t finish() const;

 private:
  uint64_t state_ = 0xcbf29ce484222325ULL;
};

/// True when a document with this hash belongs to the validation split.
bool is_validation_hash(uint64_t hash, double val_fraction);

class Corpus {
 public:
  /// Opens every store (validated, tokenizer hash checked when given), checks that they agree on
  /// vocab_size, eos_id and tokenizer, and splits their documents. Throws ember::Error naming files.
  Corpus(const std::vector<std::string>& files, const std::optional<std::string>& tokenizer_sha256,
         double val_fraction);

  size_t num_stores() const { return stores_.size(); }
  const TokenStore& store(size_t index) const { return stores_[index]; }
  int32_t eos_id() const { return stores_.front().eos_id(); }
  int64_t vocab_size() const { return stores_.front().vocab_size(); }

  /// Non-empty documents of a store on each side of the split, in store order.
  std::span<const uint32_t> train_documents(size_t store) const { return train_[store]; }
  std::span<const uint32_t> val_documents(size_t store) const { return val_[store]; }
  /// Tokens of a store's training documents, each counted with its EOS.
  uint64_t train_stream_tokens(size_t store) const { return train_stream_tokens_[store]; }

  int64_t document_length(DocumentRef ref) const {
    auto offsets = stores_[ref.store].doc_offsets();
    return static_cast<int64_t>(offsets[ref.document + 1] - offsets[ref.document]);
  }
  /// Copies `count` ids of a document starting at `begin` into `out`.
  void read(DocumentRef ref, int64_t begin, int64_t count, int32_t* out) const;

  /// What a saved loader state must match: per store its file name and counts, and the split.
  nlohmann::json fingerprint() const;

 private:
  void split(size_t store, double val_fraction);

  std::vector<TokenStore> stores_;
  std::vector<std::vector<uint32_t>> train_, val_;
  std::vector<uint64_t> train_stream_tokens_;
  double val_fraction_ = 0;
};

}  // namespace ember::data
