// Evaluation rows: each store packed on its own in store order (the training packing), the token
// budget split by weight, rows sharded over ranks without overlap, the held-out source reading only
// documents the hash split keeps out of training, and stores too short for a row named.
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/corpus.h"
#include "data/evaluation_data.h"
#include "tests/data/token_store_test_util.h"

namespace ember::data {
namespace {

using testing::ScratchDir;
using testing::kTestTokenizerSha;
using testing::write_store;

// `count` documents of `length` ids, document d holding ids 100 * d + 1 .. (distinct per store via `base`).
std::vector<std::vector<int32_t>> documents(int count, int length, int32_t base) {
  std::vector<std::vector<int32_t>> out;
  for (int d = 0; d < count; ++d) {
    std::vector<int32_t> ids;
    for (int i = 0; i < length; ++i) ids.push_back(base + 10 * d + i % 9 + 1);
    out.push_back(ids);
  }
  return out;
}

TEST(EvaluationData, RowsAreTheTrainingPackingInStoreOrder) {
  ScratchDir dir;
  auto store = write_store(dir.file("a.h5"), {{1, 2, 3}, {4, 5}});
  EvaluationOptions options;
  options.files = {store};
  options.seq_len = 2;
  EvaluationData data(options);
  // Stream 1 2 3 EOS 4 5 EOS (7 tokens) -> rows of 3 tokens at 0, 2, 4: three rows.
  ASSERT_EQ(data.rows(0), 3);
  Batch batch = data.batch(0, 0, 3);
  EXPECT_EQ(batch.inputs, (std::vector<int32_t>{1, 2, 3, 0, 4, 5}));
  EXPECT_EQ(batch.targets, (std::vector<int32_t>{2, 3, 0, 4, 5, 0}));
  EXPECT_EQ(batch.segment_ids, (std::vector<int32_t>{0, 0, 0, 0, 0, 0}));
}

TEST(EvaluationData, BudgetSplitsByWeightAndRanksShareRowsWithoutOverlap) {
  ScratchDir dir;
  auto a = write_store(dir.file("a.h5"), documents(20, 30, 0));
  auto b = write_store(dir.file("b.h5"), documents(20, 30, 500));
  EvaluationOptions options;
  options.files = {a, b};
  options.seq_len = 10;
  options.max_tokens = 200;
  options.weights = {3, 1};
  EvaluationData weighted(options);
  EXPECT_EQ(weighted.rows(0), 15);  // ceil(150 / 10)
  EXPECT_EQ(weighted.rows(1), 5);   // ceil(50 / 10)
  options.weights = {};
  options.max_tokens = 0;
  EvaluationData whole(options);
  EXPECT_EQ(whole.rows(0), (20 * 31 - 1) / 10);

  std::vector<std::vector<int32_t>> by_rank;
  for (int rank = 0; rank < 3; ++rank) {
    options.rank = rank;
    options.world = 3;
    EvaluationData shard(options);
    by_rank.push_back(shard.batch(0, 0, shard.rank_rows(0)).inputs);
  }
  EXPECT_EQ(by_rank[0].size() + by_rank[1].size() + by_rank[2].size(), size_t(whole.rows(0) * 10));
  // Row k of the single-rank order is row k / 3 of rank k % 3.
  Batch all = whole.batch(0, 0, whole.rows(0));
  for (int64_t k = 0; k < whole.rows(0); ++k) {
    const auto& rank_rows = by_rank[size_t(k % 3)];
    std::vector<int32_t> expected(all.inputs.begin() + k * 10, all.inputs.begin() + k * 10 + 10);
    std::vector<int32_t> got(rank_rows.begin() + (k / 3) * 10, rank_rows.begin() + (k / 3) * 10 + 10);
    EXPECT_EQ(got, expected) << "row " << k;
  }
}

TEST(EvaluationData, HeldOutSourceReadsOnlyHeldOutDocuments) {
  ScratchDir dir;
  auto store = write_store(dir.file("mix.h5"), documents(200, 12, 0), /*vocab_size=*/4096);
  Corpus corpus({store}, kTestTokenizerSha, 0.2);
  std::set<int32_t> held_out_first_ids;
  for (uint32_t d : corpus.val_documents(0)) held_out_first_ids.insert(10 * int32_t(d) + 1);
  ASSERT_FALSE(held_out_first_ids.empty());
  EvaluationOptions options;
  options.files = {store};
  options.seq_len = 12;
  options.held_out_fraction = 0.2;
  EvaluationData data(options);
  Batch batch = data.batch(0, 0, data.rows(0));
  std::set<int32_t> seen_first_ids;
  for (size_t i = 0; i < batch.inputs.size(); ++i) {
    if (batch.positions[i] == 0 && batch.inputs[i] % 10 == 1) seen_first_ids.insert(batch.inputs[i]);
  }
  for (int32_t id : seen_first_ids) EXPECT_TRUE(held_out_first_ids.count(id)) << "document starting " << id;
}

TEST(EvaluationData, StoreShorterThanARowIsNamed) {
  ScratchDir dir;
  auto tiny = write_store(dir.file("tiny.h5"), {{1, 2}});
  EvaluationOptions options;
  options.files = {tiny};
  options.seq_len = 8;
  try {
    EvaluationData data(options);
    FAIL() << "a store shorter than one row must fail";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("tiny.h5' has 3 tokens (with EOS), fewer than one sequence of 9"),
              std::string::npos)
        << error.what();
  }
  options.seq_len = 1;
  options.weights = {0};
  EXPECT_THROW(EvaluationData{options}, UsageError);
}

}  // namespace
}  // namespace ember::data
