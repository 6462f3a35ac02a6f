// The packed-sequence loader: a weighted mixture of HDF5 token stores cut into sequences of
// seq_len + 1 tokens with document boundaries (batch.h), sharded over data-parallel ranks,
// deterministic, prefetched on a background thread, and resumable from a JSON state.
//
// Order. Each epoch is a packed stream of documents (epoch_plan.h: mixture quotas, per-store
// shuffled passes, a seeded interleave), a pure function of (seed, epoch). Packed sequence k of an
// epoch covers stream tokens [k * seq_len, k * seq_len + seq_len]; the tail shorter than a sequence
// is dropped. The global order of sequences is epoch 0's sequences 0, 1, ..., then epoch 1's, and
// so on: batches run straight across epoch boundaries, so no sequence is skipped or repeated.
//
// Ranks and batches. A config's batch size is global: B = micro_batch * world * accumulation
// sequences per optimizer step, the consecutive sequences [step * B, (step + 1) * B) of the
// global order whatever the layout. The Loader is given the per-rank micro batch; each
// next_train() call consumes the next micro_batch * world sequences of the global order, of which
// rank r takes every world-th, starting at offset r: sequences cursor + r + world * j for
// j = 0 .. micro_batch - 1. Over one epoch, each packed sequence therefore belongs to exactly one
// rank, and the union over ranks and accumulation steps is the global batch.
//
// Validation. Documents held out by hash (corpus.h), packed in a fixed order, sharded by rank the
// same way and wrapping around at the end; next_val() never touches the training cursor.
//
// State. Everything that decides the next batch is the global cursor (epoch, sequence), the
// validation cursor, and the data fingerprint (seed, seq_len, weights, stores, split): no RNG
// state is stored because all randomness is derived from (seed, epoch). state() describes what
// the caller has consumed (prefetched batches are not counted), and restore() continues with
// exactly the next batch. The cursor is global, so a state restores under another rank count or
// micro batch (resharding) as long as the data fingerprint matches.
//
// Threads. With prefetch > 0, a thread keeps up to `prefetch` training batches ready; it starts on
// the first next_train() and stops on restore() and destruction. Errors while reading (an I/O
// failure, say) surface from next_train() as ember::Error.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/batch.h"
#include "data/corpus.h"
#include "data/epoch_plan.h"
#include "data/prefetcher.h"
#include "data/sequence_packer.h"

namespace ember::data {

struct LoaderOptions {
  std::vector<std::string> files;  ///< token stores (.h5)
  std::vector<double> weights;     ///< mixture weights, one per file; empty = every document once per epoch
  int64_t seq_len = 0;             ///< tokens per row (each row reads seq_len + 1 stream tokens)
  int64_t micro_batch = 0;         ///< rows per next_train() / next_val() on this rank
  int rank = 0, world = 1;         ///< data-parallel rank and size
  uint64_t seed = 0;
  double val_fraction = 0;         ///< share of documents held out for validation, in [0, 1)
  int prefetch = 2;                ///< training batches prepared ahead; 0 = build on the caller's thread
  std::optional<std::string> tokenizer_sha256;  ///< when set, every store must have been written with it
};

class Loader {
 public:
  /// Opens and validates every store and checks the options; throws ember::UsageError for bad
  /// options and ember::Error for bad data (including data too short for one sequence).
  explicit Loader(LoaderOptions options);
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;
  ~Loader();

  /// This rank's next training micro batch.
  Batch next_train();
  /// This rank's next validation micro batch; throws ember::Error when nothing is held out.
  Batch next_val();
  /// Starts validation again from its first sequence (e.g. before each evaluation pass).
  void reset_val() { val_cursor_ = 0; }

  nlohmann::json state() const;
  /// Continues from a state(); throws ember::Error naming the mismatch when it was saved for other data.
  void restore(const nlohmann::json& state);

  /// Epoch of the next training sequence in the global order.
  int64_t epoch() const { return consumed_.epoch; }
  /// Packed validation sequences over all ranks (one pass = val_sequences() / (micro_batch * world) calls).
  int64_t val_sequences() const { return val_stream_.num_sequences(options_.seq_len); }
  int32_t eos_id() const { return corpus_.eos_id(); }
  int64_t vocab_size() const { return corpus_.vocab_size(); }
  const LoaderOptions& options() const { return options_; }

 private:
  struct Cursor {
    int64_t epoch = 0;
    int64_t sequence = 0;
  };
  struct Produced {
    Batch batch;
    Cursor next;
  };

  /// The micro batch starting at global cursor `from` for this rank, and the cursor after it.
  Produced produce_train(Cursor from);
  /// `from` moved `steps` sequences along the global order.
  Cursor advance(Cursor from, int64_t steps);
  /// The packed stream of an epoch (a few recent epochs cached; used by one thread at a time).
  const DocumentStream& training_epoch(int64_t epoch);
  nlohmann::json data_fingerprint() const;

  LoaderOptions options_;
  Corpus corpus_;
  std::vector<uint64_t> per_epoch_;
  DocumentStream val_stream_;
  SequencePacker train_packer_, val_packer_;
  std::deque<std::pair<int64_t, DocumentStream>> epochs_;
  Cursor consumed_;
  int64_t val_cursor_ = 0;
  std::unique_ptr<Prefetcher<Produced>> prefetcher_;
};

}  // namespace ember::data
