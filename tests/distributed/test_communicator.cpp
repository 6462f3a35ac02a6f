// Communicator tests: every collective, dtypes, non-contiguous tensors, sub-groups, volume
// counters, error messages and async all-reduces (equal to the blocking call, ordered with it).
// Run in one process (the no-op world) and under mpirun -np 2 / 4.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>

#include "core/error.h"
#include "distributed_test_util.h"

namespace ember::distributed {
namespace {

using testing::world;

TEST(Communicator, AllReduceSumAvgMax) {
  auto comm = world();
  const int p = comm->size(), r = comm->rank();
  for (auto dtype : {at::kFloat, at::kDouble, at::kBFloat16}) {
    auto t = at::full({3}, double(r + 1), at::TensorOptions().dtype(dtype));
    comm->all_reduce(t, ReduceOp::sum);
    EXPECT_DOUBLE_EQ(t[0].item<double>(), p * (p + 1) / 2.0) << dtype;
    t.fill_(r + 1);
    comm->all_reduce(t, ReduceOp::avg);
    EXPECT_DOUBLE_EQ(t[2].item<double>(), (p + 1) / 2.0) << dtype;
    t.fill_(r + 1);
    comm->all_reduce(t, ReduceOp::max);
    EXPECT_DOUBLE_EQ(t[1].item<double>(), double(p)) << dtype;
  }
  auto ints = at::full({2}, int64_t(r), at::TensorOptions().dtype(at::kLong));
  comm->all_reduce(ints);
  EXPECT_EQ(ints[1].item<int64_t>(), int64_t(p) * (p - 1) / 2);
}

TEST(Communicator, AllGatherAndReduceScatterAlongDim0) {
  auto comm = world();
  const int p = comm->size(), r = comm->rank();
  auto mine = at::full({2, 3}, double(r), at::TensorOptions().dtype(at::kDouble));
  auto gathered = at::empty({2 * p, 3}, mine.options());
  comm->all_gather(mine, gathered);
  for (int i = 0; i < p; ++i) EXPECT_DOUBLE_EQ(gathered[2 * i + 1][2].item<double>(), double(i));

  // Rank r contributes arange + r; slice i of the sum is sum_r (i*2 + j + r).
  auto contribution = at::arange(2 * p, at::TensorOptions().dtype(at::kDouble)).add(r).view({2 * p, 1});
  auto slice = at::empty({2, 1}, contribution.options());
  comm->reduce_scatter(contribution, slice);
  const double rank_sum = p * (p - 1) / 2.0;
  EXPECT_DOUBLE_EQ(slice[0][0].item<double>(), p * (2.0 * r) + rank_sum);
  EXPECT_DOUBLE_EQ(slice[1][0].item<double>(), p * (2.0 * r + 1) + rank_sum);
}

TEST(Communicator, AlongOtherDimsAndNonContiguous) {
  auto comm = world();
  const int p = comm->size(), r = comm->rank();
  auto mine = at::full({2, 3}, double(r), at::TensorOptions().dtype(at::kDouble)).t();  // [3, 2], not contiguous
  auto gathered = comm->gather_along(mine, 1);                                          // [3, 2p]
  ASSERT_EQ(gathered.size(1), 2 * p);
  for (int i = 0; i < p; ++i) EXPECT_DOUBLE_EQ(gathered[2][2 * i].item<double>(), double(i));

  auto ones = at::full({3, 2 * p}, 1.0, at::TensorOptions().dtype(at::kDouble));
  auto scattered = comm->reduce_scatter_along(ones, 1, ReduceOp::sum);
  ASSERT_EQ(scattered.size(1), 2);
  EXPECT_DOUBLE_EQ(scattered.sum().item<double>(), 6.0 * p);

  auto strided = at::zeros({4, 4}, at::TensorOptions().dtype(at::kDouble)).narrow(1, 1, 2);
  strided.fill_(double(r));
  comm->all_reduce(strided);
  EXPECT_DOUBLE_EQ(strided[3][1].item<double>(), p * (p - 1) / 2.0);
}

TEST(Communicator, BroadcastFromLastRank) {
  auto comm = world();
  const int root = comm->size() - 1;
  auto t = at::full({5}, double(comm->rank() * 10), at::TensorOptions().dtype(at::kFloat));
  comm->broadcast(t, root);
  EXPECT_FLOAT_EQ(t[4].item<float>(), float(root * 10));
  comm->barrier();
}

TEST(Communicator, SplitIntoEvenAndOddRanks) {
  auto comm = world();
  const int r = comm->rank(), p = comm->size();
  auto half = comm->split(r % 2, r, "parity");
  EXPECT_EQ(half->size(), (p - r % 2 + 1) / 2);
  EXPECT_EQ(half->rank(), r / 2);
  auto t = at::full({1}, double(r), at::TensorOptions().dtype(at::kDouble));
  half->all_reduce(t);
  double expected = 0;
  for (int i = r % 2; i < p; i += 2) expected += i;
  EXPECT_DOUBLE_EQ(t.item<double>(), expected);
}

TEST(Communicator, CountsBytesPerCollective) {
  auto comm = world();
  const auto before = comm->volume();
  auto t = at::zeros({4}, at::TensorOptions().dtype(at::kFloat));
  comm->all_reduce(t);
  comm->gather_along(t, 0);
  const auto step = comm->volume() - before;
  const int64_t moved = comm->size() > 1 ? 1 : 0;
  EXPECT_EQ(step.bytes[size_t(Collective::all_reduce)], 16 * moved);
  EXPECT_EQ(step.calls[size_t(Collective::all_reduce)], moved);
  EXPECT_EQ(step.bytes[size_t(Collective::all_gather)], 16 * comm->size() * moved);
  EXPECT_EQ(step.total_bytes(), (16 + 16 * comm->size()) * moved);
}

TEST(Communicator, AsyncAllReduceEqualsBlockingAndKeepsCallOrder) {
  auto comm = world();
  const int p = comm->size(), r = comm->rank();
  const auto before = comm->volume();
  std::vector<at::Tensor> async_tensors, blocking_tensors;
  std::vector<std::unique_ptr<PendingCollective>> pending;
  for (int i = 0; i < 4; ++i) {
    auto options = at::TensorOptions().dtype(i % 2 ? at::kFloat : at::kDouble);
    auto t = at::arange(1000 * (i + 1), options).mul_(0.1 * (r + 1));
    blocking_tensors.push_back(t.clone());
    async_tensors.push_back(t);
    pending.push_back(comm->all_reduce_async(t, i == 3 ? ReduceOp::max : ReduceOp::sum));
  }
  // A blocking call made while async ones may still run comes after them on every rank.
  auto marker = at::full({1}, double(r), at::TensorOptions().dtype(at::kDouble));
  comm->all_reduce(marker);
  EXPECT_DOUBLE_EQ(marker.item<double>(), p * (p - 1) / 2.0);
  for (int i = 0; i < 4; ++i) {
    pending[size_t(i)]->wait();
    comm->all_reduce(blocking_tensors[size_t(i)], i == 3 ? ReduceOp::max : ReduceOp::sum);
    EXPECT_TRUE(async_tensors[size_t(i)].equal(blocking_tensors[size_t(i)])) << i;
  }
  const auto step = comm->volume() - before;
  const int64_t moved = p > 1 ? 1 : 0;
  EXPECT_EQ(step.calls[size_t(Collective::all_reduce)], (2 * 4 + 1) * moved);
  EXPECT_EQ(step.bytes[size_t(Collective::all_reduce)], (2 * (8 * 1000 + 4 * 2000 + 8 * 3000 + 4 * 4000) + 8) * moved);

  auto strided = at::zeros({4, 4}, at::TensorOptions().dtype(at::kDouble)).narrow(1, 1, 2);
  try {
    comm->all_reduce_async(strided);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("all_reduce on " + comm->describe()), std::string::npos) << e.what();
  }
}

TEST(Communicator, AsyncOnOneRankIsAFinishedNoOp) {
  auto solo = make_solo_communicator("dp");
  auto t = at::arange(6, at::TensorOptions().dtype(at::kFloat));
  auto pending = solo->all_reduce_async(t);
  pending->wait();
  EXPECT_TRUE(t.equal(at::arange(6, t.options())));
  EXPECT_EQ(solo->volume().total_bytes(), 0);
}

TEST(Communicator, ErrorsNameCollectiveGroupAndRank) {
  auto comm = world();
  const std::string where = comm->describe();
  auto input = at::zeros({2}, at::TensorOptions().dtype(at::kFloat));
  auto wrong = at::zeros({2 * comm->size() + 1}, input.options());
  try {
    comm->all_gather(input, wrong);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("all_gather on " + where), std::string::npos) << e.what();
  }
  auto ints = at::zeros({2}, at::TensorOptions().dtype(at::kInt));
  EXPECT_THROW(comm->all_reduce(ints, ReduceOp::avg), Error);
  EXPECT_THROW(comm->broadcast(input, comm->size()), Error);
  EXPECT_NE(where.find("group 'world' (rank " + std::to_string(comm->rank())), std::string::npos);
}

TEST(Communicator, SoloIsTheIdentity) {
  auto solo = make_solo_communicator("tp");
  EXPECT_EQ(solo->size(), 1);
  EXPECT_STREQ(solo->backend(), "solo");
  auto t = at::arange(6, at::TensorOptions().dtype(at::kFloat));
  solo->all_reduce(t, ReduceOp::avg);
  EXPECT_FLOAT_EQ(t[5].item<float>(), 5.0f);
  EXPECT_TRUE(solo->gather_along(t, 0).equal(t));
  auto out = at::empty({6}, t.options());
  solo->reduce_scatter(t, out);
  EXPECT_TRUE(out.equal(t));
  EXPECT_EQ(solo->split(0, 0, "child")->size(), 1);
  EXPECT_EQ(solo->volume().total_bytes(), 0);
}

TEST(Communicator, FoundAgainById) {
  auto comm = world();
  EXPECT_EQ(&communicator_by_id(comm->id()), comm.get());
  int64_t gone = 0;
  {
    auto solo = make_solo_communicator();
    gone = solo->id();
  }
  EXPECT_THROW(communicator_by_id(gone), Error);
}

}  // namespace
}  // namespace ember::distributed
