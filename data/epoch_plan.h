// Document order of the packed streams the loader cuts into sequences: the shuffled, weighted
// mixture of one training epoch, and the fixed validation stream. A pure function of
// (corpus, weights, seed, epoch), so any rank rebuilds any epoch without shared state.
//
// Training epoch e. Store s contributes n_s documents per epoch:
//   no weights:  n_s = its number of training documents (every document once per epoch);
//   weights w:   n_s = round(w_s / sum(w) * T / m_s), where T is the total training tokens of all
//                stores (EOS included) and m_s the mean document length of store s: so store s
//                supplies about w_s / sum(w) of the epoch's tokens (>= 1 document when w_s > 0).
// Each store feeds an endless stream of its training documents, one seeded permutation per pass
// over the store (pass p of store s shuffled by (seed, s, p)); epoch e takes documents
// [e * n_s, (e + 1) * n_s) of that stream, so up-weighted stores repeat and down-weighted ones
// rotate through all their documents over successive epochs. The n = sum(n_s) slots are then
// interleaved by a shuffle seeded by (seed, e).
//
// Validation: every validation document of every store, in store order, unshuffled.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/corpus.h"

namespace ember::data {

/// Documents in stream order; ends[i] = stream position just past document i's EOS.
struct DocumentStream {
  std::vector<DocumentRef> documents;
  std::vector<uint64_t> ends;

  uint64_t total_tokens() const { return ends.empty() ? 0 : ends.back(); }
  /// Packed sequences of seq_len + 1 tokens, consecutive ones overlapping by one token (sequence
  /// k covers [k * seq_len, k * seq_len + seq_len]), so every token but the first is a target once.
  int64_t num_sequences(int64_t seq_len) const;
  /// Index of the document holding stream position `position` (< total_tokens()).
  size_t locate(uint64_t position) const;
  /// Start of document i in the stream.
  uint64_t begin(size_t i) const { return i == 0 ? 0 : ends[i - 1]; }
};

/// Documents per epoch for each store (see the header comment); throws ember::UsageError when the
/// weights do not fit the stores (count, negative, all zero, weight on a store with no training data).
std::vector<uint64_t> documents_per_epoch(const Corpus& corpus, const std::vector<double>& weights);

/// The training stream of `epoch`.
DocumentStream build_training_epoch(const Corpus& corpus, std::span<const uint64_t> per_epoch, uint64_t seed,
                                    int64_t epoch);

/// The validation stream.
DocumentStream build_validation_stream(const Corpus& corpus);

}  // namespace ember::data
