// Cuts packed sequences out of a document stream: row k of a stream is the seq_len + 1 tokens at
// stream positions [k * seq_len, k * seq_len + seq_len], with EOS after every document, and its
// document segments and in-document positions (layout and semantics in batch.h).
#pragma once

#include <cstdint>
#include <vector>

#include "data/batch.h"
#include "data/corpus.h"
#include "data/epoch_plan.h"

namespace ember::data {

class SequencePacker {
 public:
  SequencePacker(const Corpus& corpus, int64_t seq_len) : corpus_(corpus), seq_len_(seq_len) {
    row_.resize(static_cast<size_t>(seq_len + 1));
    segments_.resize(row_.size());
    positions_.resize(row_.size());
  }

  /// Fills row `row` of `batch` with sequence `sequence` of `stream` (< stream.num_sequences).
  void pack(const DocumentStream& stream, int64_t sequence, Batch& batch, int64_t row);

 private:
  const Corpus& corpus_;
  int64_t seq_len_;
  std::vector<int32_t> row_, segments_, positions_;
};

}  // namespace ember::data
