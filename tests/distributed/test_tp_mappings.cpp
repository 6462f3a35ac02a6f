// Every tensor-parallel mapping, forward and backward, against the single-process maths: the job
// as a whole must compute what one process computes over the concatenated / summed tensors.
// Each test runs over the whole world as the tp group (one process: the identity).
#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>

#include "distributed/tp_mappings.h"
#include "distributed_test_util.h"

namespace ember::distributed {
namespace {

using testing::same_everywhere;
using testing::world;

constexpr double kTolerance = 1e-12;

/// A leaf that requires grad.
at::Tensor leaf(const at::Tensor& t) { return t.detach().clone().requires_grad_(true); }

/// sum over ranks of a tensor each rank draws with seed base + rank (computed locally).
at::Tensor sum_over_ranks(at::IntArrayRef sizes, uint64_t base, int ranks) {
  auto total = same_everywhere(sizes, base);
  for (int r = 1; r < ranks; ++r) total = total + same_everywhere(sizes, base + uint64_t(r));
  return total;
}

at::Tensor part(const at::Tensor& t, int64_t dim, int rank, int parts) {
  const int64_t length = t.size(dim) / parts;
  return t.narrow(dim, rank * length, length);
}

TEST(TpMappings, CopyToTpSumsGradients) {
  auto tp = world();
  const int p = tp->size(), r = tp->rank();
  auto x = leaf(same_everywhere({2, 3, 4}, 1));
  auto y = copy_to_tp(x, *tp);
  EXPECT_TRUE(y.equal(x));
  (y * same_everywhere({2, 3, 4}, 100 + uint64_t(r))).sum().backward();
  EXPECT_TRUE(x.grad().allclose(sum_over_ranks({2, 3, 4}, 100, p), kTolerance));
}

TEST(TpMappings, ReduceFromTpSumsForwardOnly) {
  auto tp = world();
  const int p = tp->size(), r = tp->rank();
  auto x = leaf(same_everywhere({2, 5}, 10 + uint64_t(r)));
  auto y = reduce_from_tp(x, *tp);
  EXPECT_TRUE(y.allclose(sum_over_ranks({2, 5}, 10, p), kTolerance));
  auto w = same_everywhere({2, 5}, 7);
  (y * w).sum().backward();
  EXPECT_TRUE(x.grad().allclose(w, kTolerance));
}

TEST(TpMappings, ScatterToTpKeepsThisRanksColumns) {
  auto tp = world();
  const int p = tp->size(), r = tp->rank();
  auto x = leaf(same_everywhere({2, 3, 4 * p}, 2));
  auto y = scatter_to_tp(x, *tp);
  EXPECT_TRUE(y.equal(part(x, -1, r, p)));
  auto w = same_everywhere({2, 3, 4 * p}, 3);
  (y * part(w, -1, r, p)).sum().backward();
  EXPECT_TRUE(x.grad().allclose(w, kTolerance));  // the whole job's gradient: every rank's columns
}

TEST(TpMappings, GatherFromTpConcatenatesColumns) {
  auto tp = world();
  const int p = tp->size(), r = tp->rank();
  auto full = same_everywhere({3, 2 * p}, 4);
  auto x = leaf(part(full, -1, r, p));
  auto y = gather_from_tp(x, *tp);
  EXPECT_TRUE(y.equal(full));
  auto w = same_everywhere({3, 2 * p}, 5);
  (y * w).sum().backward();
  EXPECT_TRUE(x.grad().allclose(part(w, -1, r, p), kTolerance));
}

TEST(TpMappings, ScatterToSequenceSplitsTokens) {
  auto tp = world();
  const int p = tp->size(), r = tp->rank();
  auto x = leaf(same_everywhere({2, 3 * p, 4}, 6));
  auto y = scatter_to_sequence(x, *tp);
  EXPECT_TRUE(y.equal(part(x, kSequenceDim, r, p)));
  auto w = same_everywhere({2, 3 * p, 4}, 7);
  (y * part(w, kSequenceDim, r, p)).sum().backward();
  EXPECT_TRUE(x.grad().allclose(w, kTolerance));
}

TEST(TpMappings, AllGatherSequenceReduceScattersGradients) {
  auto tp = world();
  const int p = tp->size(), r = tp->rank();
  auto full = same_everywhere({2, 2 * p, 3}, 8);
  auto x = leaf(part(full, kSequenceDim, r, p));
  auto y = all_gather_sequence(x, *tp);
  EXPECT_TRUE(y.equal(full));
  // Each rank uses the gathered tokens differently (as a column-parallel layer does).
  (y * same_everywhere({2, 2 * p, 3}, 200 + uint64_t(r))).sum().backward();
  auto expected = part(sum_over_ranks({2, 2 * p, 3}, 200, p), kSequenceDim, r, p);
  EXPECT_TRUE(x.grad().allclose(expected, kTolerance));
}

TEST(TpMappings, ReduceScatterSequenceSumsAndSplits) {
  auto tp = world();
  const int p = tp->size(), r = tp->rank();
  auto x = leaf(same_everywhere({2, 2 * p, 3}, 300 + uint64_t(r)));
  auto y = reduce_scatter_sequence(x, *tp);
  EXPECT_TRUE(y.allclose(part(sum_over_ranks({2, 2 * p, 3}, 300, p), kSequenceDim, r, p), kTolerance));
  auto w = same_everywhere({2, 2 * p, 3}, 9);
  (y * part(w, kSequenceDim, r, p)).sum().backward();
  EXPECT_TRUE(x.grad().allclose(w, kTolerance));
}

TEST(TpMappings, UnevenSplitNamesTheGroup) {
  auto tp = world();
  if (tp->size() == 1) GTEST_SKIP() << "one rank splits anything";
  auto x = same_everywhere({2, 2 * tp->size() + 1}, 1);
  try {
    scatter_to_tp(x, *tp);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(tp->describe()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ember::distributed
