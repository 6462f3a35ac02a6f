// Loader: determinism, document boundaries, rank sharding (each packed sequence exactly once per
// epoch for world 1..4), exact resume (also under another layout), validation split, mixture weights.
//
// Every token identifies its document and position: store s, document d, position i has id
// base_s + 100 * d + i (documents are shorter than 100), and EOS is 0, so a test can tell from a
// batch alone where each token came from.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/loader.h"
#include "tests/data/token_store_test_util.h"

namespace ember::data {
namespace {

using testing::ScratchDir;
using testing::write_store;

constexpr int64_t kVocab = 1 << 20;
constexpr int32_t kEos = 0;
constexpr int32_t kBaseA = 1000, kBaseB = 500000;

std::string write_numbered_store(const std::string& path, int32_t base, int documents, int seed) {
  std::vector<std::vector<int32_t>> contents;
  for (int d = 0; d < documents; ++d) {
    int length = 1 + (d * 37 + seed * 11) % 60;
    std::vector<int32_t> document;
    for (int i = 0; i < length; ++i) document.push_back(base + 100 * d + i);
    contents.push_back(document);
  }
  return write_store(path, contents, kVocab, kEos, 0, 256);
}

// The store base of a non-EOS token and its document number.
std::pair<int32_t, int32_t> origin(int32_t token) {
  int32_t base = token >= kBaseB ? kBaseB : kBaseA;
  return {base, (token - base) / 100};
}

class LoaderTest : public ::testing::Test {
 protected:
  LoaderTest()
      : store_a_(write_numbered_store(dir_.file("a.h5"), kBaseA, 120, 1)),
        store_b_(write_numbered_store(dir_.file("b.h5"), kBaseB, 300, 2)) {}

  LoaderOptions options(int64_t micro_batch = 2, int rank = 0, int world = 1) const {
    LoaderOptions options;
    options.files = {store_a_, store_b_};
    options.seq_len = 32;
    options.micro_batch = micro_batch;
    options.rank = rank;
    options.world = world;
    options.seed = 42;
    options.val_fraction = 0.1;
    options.prefetch = 2;
    return options;
  }

  ScratchDir dir_;
  std::string store_a_, store_b_;
};

using Sequence = std::pair<int64_t, int64_t>;  // (epoch, sequence)

// Rows of a batch keyed by (epoch, sequence), with their inputs.
void collect_rows(const Batch& batch, std::map<Sequence, std::vector<int32_t>>& rows, std::map<Sequence, int>& seen) {
  for (int64_t r = 0; r < batch.batch; ++r) {
    Sequence key{batch.row_epochs[size_t(r)], batch.row_sequences[size_t(r)]};
    ++seen[key];
    rows[key].assign(batch.inputs.begin() + r * batch.seq_len, batch.inputs.begin() + (r + 1) * batch.seq_len);
  }
}

// Packed sequences in epoch 0 (world 1 reads until the epoch changes).
int64_t sequences_in_first_epoch(const LoaderOptions& options) {
  Loader loader(options);
  int64_t count = 0;
  while (loader.epoch() == 0) {
    Batch batch = loader.next_train();
    for (int64_t epoch : batch.row_epochs) count += epoch == 0;
  }
  return count;
}

TEST_F(LoaderTest, SameSeedSameBatchesOtherSeedOthers) {
  Loader first(options()), second(options());
  auto other_options = options();
  other_options.seed = 43;
  Loader other(other_options);
  bool any_difference = false;
  for (int step = 0; step < 20; ++step) {
    Batch a = first.next_train(), b = second.next_train(), c = other.next_train();
    ASSERT_EQ(a.inputs, b.inputs) << "step " << step;
    ASSERT_EQ(a.positions, b.positions);
    any_difference |= a.inputs != c.inputs;
  }
  EXPECT_TRUE(any_difference);
}

TEST_F(LoaderTest, BatchLayoutAndDocumentBoundaries) {
  Loader loader(options(3));
  for (int step = 0; step < 30; ++step) {
    Batch batch = loader.next_train();
    ASSERT_EQ(batch.batch, 3);
    ASSERT_EQ(batch.seq_len, 32);
    ASSERT_EQ(batch.inputs.size(), 3u * 32u);
    for (int64_t r = 0; r < batch.batch; ++r) {
      auto at = [&](int64_t t) { return size_t(r * batch.seq_len + t); };
      EXPECT_EQ(batch.segment_ids[at(0)], 0);
      EXPECT_EQ(batch.positions[at(0)], 0);
      for (int64_t t = 0; t < batch.seq_len; ++t) {
        int32_t input = batch.inputs[at(t)], target = batch.targets[at(t)];
        if (t + 1 < batch.seq_len) {
          ASSERT_EQ(target, batch.inputs[at(t + 1)]);
        }
        if (input == kEos) {
          // A document's EOS ends its segment; the next token starts the next document at position 0.
          ASSERT_EQ(target % 100, 0) << "after EOS comes a document's first token";
          if (t + 1 < batch.seq_len) {
            ASSERT_EQ(batch.segment_ids[at(t + 1)], batch.segment_ids[at(t)] + 1);
            ASSERT_EQ(batch.positions[at(t + 1)], 0);
          }
        } else {
          ASSERT_TRUE(target == kEos || target == input + 1) << "documents are contiguous";
          if (t + 1 < batch.seq_len) {
            ASSERT_EQ(batch.segment_ids[at(t + 1)], batch.segment_ids[at(t)]);
            ASSERT_EQ(batch.positions[at(t + 1)], batch.positions[at(t)] + 1);
          }
          if (batch.segment_ids[at(t)] > 0) {
            ASSERT_EQ(input % 100, batch.positions[at(t)]) << "position in document";
          }
        }
      }
    }
  }
}

TEST_F(LoaderTest, RankShardingCoversEachSequenceOncePerEpoch) {
  int64_t total = sequences_in_first_epoch(options(2));
  ASSERT_GT(total, 50);
  std::map<Sequence, std::vector<int32_t>> reference_rows;
  std::map<Sequence, int> reference_seen;
  {
    Loader loader(options(1, 0, 1));
    for (int64_t i = 0; i < total + 5; ++i) collect_rows(loader.next_train(), reference_rows, reference_seen);
  }
  for (int world = 1; world <= 4; ++world) {
    std::map<Sequence, std::vector<int32_t>> rows;
    std::map<Sequence, int> seen;
    int64_t micro = 3;
    int64_t calls = (total + micro * world - 1) / (micro * world) + 1;
    for (int rank = 0; rank < world; ++rank) {
      auto rank_options = options(micro, rank, world);
      rank_options.prefetch = rank % 2 == 0 ? 3 : 0;
      Loader loader(rank_options);
      for (int64_t call = 0; call < calls; ++call) collect_rows(loader.next_train(), rows, seen);
    }
    for (int64_t sequence = 0; sequence < total; ++sequence) {
      Sequence key{0, sequence};
      ASSERT_EQ(seen[key], 1) << "world " << world << " sequence " << sequence;
      ASSERT_EQ(rows[key], reference_rows[key]) << "world " << world << " sequence " << sequence;
    }
    for (const auto& [key, count] : seen) {
      ASSERT_EQ(count, 1) << "world " << world << " epoch " << key.first << " sequence " << key.second;
      ASSERT_LE(key.first, 1);
    }
  }
}

TEST_F(LoaderTest, EpochsAdvanceWithoutGapsAndReshuffle) {
  auto opts = options(4);
  int64_t total = sequences_in_first_epoch(opts);
  Loader loader(opts);
  std::vector<Sequence> order;
  std::map<Sequence, std::vector<int32_t>> rows;
  std::map<Sequence, int> seen;
  while (loader.epoch() < 2) {
    Batch batch = loader.next_train();
    collect_rows(batch, rows, seen);
    for (int64_t r = 0; r < batch.batch; ++r) order.emplace_back(batch.row_epochs[size_t(r)], batch.row_sequences[size_t(r)]);
  }
  ASSERT_EQ(order.front(), (Sequence{0, 0}));
  for (size_t i = 1; i < order.size(); ++i) {
    Sequence previous = order[i - 1];
    Sequence expected = previous.second + 1 < total ? Sequence{previous.first, previous.second + 1}
                                                    : Sequence{previous.first + 1, 0};
    ASSERT_EQ(order[i], expected) << "at " << i << " (every epoch packs " << total << " sequences)";
  }
  EXPECT_NE(rows[(Sequence{0, 0})], rows[(Sequence{1, 0})]) << "each epoch is shuffled differently";
}

TEST_F(LoaderTest, ResumeYieldsExactlyTheNextBatches) {
  Loader original(options(3));
  for (int step = 0; step < 23; ++step) original.next_train();
  original.next_val();
  std::string saved = original.state().dump();
  std::vector<Batch> expected_train, expected_val;
  for (int step = 0; step < 40; ++step) expected_train.push_back(original.next_train());
  for (int step = 0; step < 3; ++step) expected_val.push_back(original.next_val());

  for (int prefetch : {0, 4}) {
    auto resumed_options = options(3);
    resumed_options.prefetch = prefetch;
    Loader resumed(resumed_options);
    resumed.next_train();  // state before restore must not matter
    resumed.restore(nlohmann::json::parse(saved));
    EXPECT_EQ(resumed.state().dump(), saved);
    for (const Batch& expected : expected_train) {
      Batch batch = resumed.next_train();
      ASSERT_EQ(batch.inputs, expected.inputs);
      ASSERT_EQ(batch.targets, expected.targets);
      ASSERT_EQ(batch.segment_ids, expected.segment_ids);
      ASSERT_EQ(batch.positions, expected.positions);
      ASSERT_EQ(batch.row_sequences, expected.row_sequences);
    }
    for (const Batch& expected : expected_val) ASSERT_EQ(resumed.next_val().inputs, expected.inputs);
  }
}

TEST_F(LoaderTest, ResumeUnderAnotherLayoutContinuesTheGlobalOrder) {
  Loader single(options(4, 0, 1));
  for (int step = 0; step < 5; ++step) single.next_train();
  auto saved = single.state();
  Batch expected = single.next_train();
  std::vector<Batch> halves;
  for (int rank = 0; rank < 2; ++rank) {
    Loader sharded(options(2, rank, 2));
    sharded.restore(saved);
    halves.push_back(sharded.next_train());
  }
  // Global sequences g, g+1, g+2, g+3: rank 0 holds g and g+2, rank 1 holds g+1 and g+3.
  for (int64_t row = 0; row < 4; ++row) {
    const Batch& half = halves[size_t(row % 2)];
    int64_t half_row = row / 2;
    EXPECT_EQ(std::vector<int32_t>(half.inputs.begin() + half_row * 32, half.inputs.begin() + (half_row + 1) * 32),
              std::vector<int32_t>(expected.inputs.begin() + row * 32, expected.inputs.begin() + (row + 1) * 32));
  }
}

TEST_F(LoaderTest, RestoreRejectsStateForOtherData) {
  Loader loader(options());
  auto saved = loader.state();
  auto other_options = options();
  other_options.seed = 7;
  Loader other(other_options);
  try {
    other.restore(saved);
    FAIL() << "restore should reject another seed";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("seed is 42 in the state but 7 here"), std::string::npos) << error.what();
  }
  auto swapped = options();
  std::swap(swapped.files[0], swapped.files[1]);
  EXPECT_THROW(Loader(swapped).restore(saved), Error);
  EXPECT_THROW(loader.restore(nlohmann::json{{"format", "x"}}), Error);
}

TEST_F(LoaderTest, ValidationIsDisjointFromTraining) {
  Loader loader(options(4));
  std::set<std::pair<int32_t, int32_t>> train_documents, val_documents;
  while (loader.epoch() < 3) {
    for (int32_t token : loader.next_train().inputs) {
      if (token != kEos) train_documents.insert(origin(token));
    }
  }
  ASSERT_GT(loader.val_sequences(), 0);
  int64_t calls = loader.val_sequences() / 4 + 1;
  for (int64_t call = 0; call < calls; ++call) {
    for (int32_t token : loader.next_val().inputs) {
      if (token != kEos) val_documents.insert(origin(token));
    }
  }
  EXPECT_GT(val_documents.size(), 15u);  // about 10% of 420 documents
  EXPECT_LT(val_documents.size(), 70u);
  for (const auto& document : val_documents) EXPECT_EQ(train_documents.count(document), 0u);
  EXPECT_GT(train_documents.size() + val_documents.size(), 400u);

  auto other_seed = options(4);
  other_seed.seed = 1;
  Loader reseeded(other_seed);
  EXPECT_EQ(reseeded.val_sequences(), loader.val_sequences()) << "the split does not depend on the seed";
}

TEST_F(LoaderTest, MixtureWeightsSetTokenShares) {
  for (double weight_a : {0.75, 0.2}) {
    auto weighted = options(8);
    weighted.weights = {weight_a, 1 - weight_a};
    weighted.prefetch = 0;
    Loader loader(weighted);
    int64_t from_a = 0, from_b = 0;
    while (loader.epoch() < 2) {
      for (int32_t token : loader.next_train().inputs) {
        if (token == kEos) continue;
        (origin(token).first == kBaseA ? from_a : from_b) += 1;
      }
    }
    double share_a = double(from_a) / double(from_a + from_b);
    EXPECT_NEAR(share_a, weight_a, 0.04) << "weight " << weight_a;
  }
}

TEST_F(LoaderTest, BadOptionsAndTooLittleData) {
  auto bad_rank = options(2, 2, 2);
  EXPECT_THROW(Loader{bad_rank}, UsageError);
  auto bad_weights = options();
  bad_weights.weights = {1.0};
  EXPECT_THROW(Loader{bad_weights}, UsageError);
  auto bad_fraction = options();
  bad_fraction.val_fraction = 1.0;
  EXPECT_THROW(Loader{bad_fraction}, UsageError);
  auto long_sequences = options();
  long_sequences.seq_len = 100000;
  EXPECT_THROW(Loader{long_sequences}, Error);
  auto no_val = options();
  no_val.val_fraction = 0;
  Loader loader(no_val);
  EXPECT_THROW(loader.next_val(), Error);
  auto wrong_tokenizer = options();
  wrong_tokenizer.tokenizer_sha256 = std::string(64, 'f');
  EXPECT_THROW(Loader{wrong_tokenizer}, Error);
}

TEST(LoaderStores, StoresFromDifferentTokenizersAreRejected) {
  ScratchDir dir;
  LoaderOptions options;
  options.files = {write_store(dir.file("a.h5"), {{1, 2, 3}}, 1000, 0), write_store(dir.file("b.h5"), {{1, 2}}, 2000, 0)};
  options.seq_len = 2;
  options.micro_batch = 1;
  try {
    Loader loader(options);
    FAIL() << "stores with different vocabularies must not mix";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("different tokenizers"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace ember::data
