// Shard slices: a flat range is covered by its boxes exactly once and in order; shards saved at
// one tp x ZeRO layout reassemble into the tp slices and ZeRO partitions of any other layout.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/full.h>

#include "checkpoint/slice_copy.h"

using namespace ember::checkpoint;

namespace {

/// The shards one layout stores: tp ranks split `tp_dim` of each tensor evenly (or keep it whole
/// when tp_dim < 0), then dp ranks split the concatenated tp-local tensors flat, as ZeRO-1 does
/// (S = ceil(N / dp) elements per rank, pieces where a rank's range meets a tensor).
struct Layout {
  int64_t tp = 1, dp = 1;
  bool zero = false;
};

struct Stored {
  std::string name;
  ShardSlice slice;
  at::Tensor data;
};

ShardSlice tp_slice(const std::vector<int64_t>& shape, int64_t tp_dim, int64_t tp, int64_t rank) {
  ShardSlice slice;
  if (tp_dim >= 0 && tp > 1) {
    slice.tp_dim = tp_dim;
    slice.tp_length = shape[size_t(tp_dim)] / tp;
    slice.tp_start = rank * slice.tp_length;
  }
  slice.flat_length = numel_of(slice.local_shape(shape));
  return slice;
}

at::Tensor local_of(const at::Tensor& full, const ShardSlice& slice) {
  return slice.tp_dim < 0 ? full : full.narrow(slice.tp_dim, slice.tp_start, slice.tp_length).contiguous();
}

/// Every (tensor, tp rank, dp rank) piece of `layout`; when `saved`, a replicated tensor's only
/// from tp rank 0 (as Trainer::checkpoint_shards writes them).
std::vector<Stored> shards_of(const std::map<std::string, std::pair<at::Tensor, int64_t>>& tensors, Layout layout,
                              bool saved) {
  std::vector<Stored> out;
  for (int64_t t = 0; t < layout.tp; ++t) {
    int64_t total = 0;
    for (const auto& [name, item] : tensors) total += numel_of(tp_slice(item.first.sizes().vec(), item.second, layout.tp, t).local_shape(item.first.sizes().vec()));
    const int64_t dp = layout.zero ? layout.dp : 1;
    const int64_t per_rank = (total + dp - 1) / dp;
    for (int64_t d = 0; d < dp; ++d) {
      int64_t start = 0;
      for (const auto& [name, item] : tensors) {
        const auto shape = item.first.sizes().vec();
        ShardSlice slice = tp_slice(shape, item.second, layout.tp, t);
        const int64_t n = slice.flat_length;
        const int64_t lo = std::max(start, d * per_rank), hi = std::min(start + n, (d + 1) * per_rank);
        start += n;
        if (lo >= hi || (saved && t > 0 && item.second < 0)) continue;
        slice.flat_offset = std::max<int64_t>(0, lo - (start - n));
        slice.flat_length = std::max<int64_t>(0, hi - lo);
        at::Tensor data = local_of(item.first, slice).reshape({-1}).narrow(0, slice.flat_offset, slice.flat_length).clone();
        out.push_back({name, slice, data});
      }
    }
  }
  return out;
}

}  // namespace

TEST(SliceBoxes, EveryFlatRangeIsCoveredOnceInOrder) {
  const std::vector<int64_t> shape = {3, 4, 5};
  const at::Tensor full = at::arange(60, at::kLong).reshape({3, 4, 5});
  for (int64_t lo = 0; lo < 60; lo += 7) {
    for (int64_t hi = lo + 1; hi <= 60; hi += 5) {
      ShardSlice slice{-1, 0, 0, lo, hi - lo};
      at::Tensor buffer = at::full({hi - lo}, -1, at::kLong);
      int64_t expected_position = 0;
      for (const auto& box : slice_boxes(shape, slice)) {
        EXPECT_EQ(box.position, expected_position);
        int64_t count = 1;
        for (size_t k = 0; k < shape.size(); ++k) count *= box.end[k] - box.begin[k];
        expected_position += count;
      }
      EXPECT_EQ(expected_position, hi - lo);
      EXPECT_EQ(copy_overlap(full.reshape({-1}), ShardSlice::whole(shape), buffer, slice, shape), hi - lo);
      EXPECT_TRUE(at::equal(buffer, at::arange(lo, hi, at::kLong))) << lo << ".." << hi;
    }
  }
}

TEST(SliceBoxes, ScalarsAndEmptyTensors) {
  const at::Tensor scalar = at::full({}, 7.0, at::kFloat);
  at::Tensor out = at::full({1}, 0.0, at::kFloat);
  EXPECT_EQ(copy_overlap(scalar.reshape({-1}), ShardSlice::whole({}), out, ShardSlice::whole({}), {}), 1);
  EXPECT_EQ(out.item<float>(), 7.0f);
  EXPECT_TRUE(slice_boxes({0, 4}, ShardSlice::whole({0, 4})).empty());
}

TEST(SliceCopy, ReassemblesAnyLayoutFromAnyOther) {
  // Tensors as a transformer has them: column-split [out, in], row-split [out, in], a replicated
  // vector, an odd-sized replicated one (ZeRO ranges that end mid-row).
  std::map<std::string, std::pair<at::Tensor, int64_t>> tensors = {
      {"a.q_proj.weight", {at::arange(8 * 6, at::kFloat).reshape({8, 6}), 0}},
      {"b.o_proj.weight", {at::arange(4 * 8, at::kFloat).reshape({4, 8}).add(1000), 1}},
      {"c.norm.weight", {at::arange(8, at::kFloat).add(2000), -1}},
      {"d.odd", {at::arange(7 * 3, at::kFloat).reshape({7, 3}).add(3000), -1}},
  };
  const std::vector<Layout> layouts = {{1, 1, false}, {2, 2, true}, {4, 1, false}, {1, 4, true},
                                       {2, 3, true},  {4, 2, true}, {1, 3, false}};
  for (const auto& saved : layouts) {
    const auto stored = shards_of(tensors, saved, true);
    for (const auto& wanted_layout : layouts) {
      for (const auto& wanted : shards_of(tensors, wanted_layout, false)) {
        const auto shape = tensors.at(wanted.name).first.sizes().vec();
        at::Tensor out = at::full({wanted.slice.flat_length}, -1.0, at::kFloat);
        int64_t filled = 0;
        for (const auto& s : stored) {
          if (s.name == wanted.name) filled += copy_overlap(s.data, s.slice, out, wanted.slice, shape);
        }
        EXPECT_EQ(filled, wanted.slice.flat_length) << wanted.name;
        EXPECT_TRUE(at::equal(out, wanted.data))
            << wanted.name << " saved at tp " << saved.tp << " dp " << saved.dp << " zero " << saved.zero
            << ", read at tp " << wanted_layout.tp << " dp " << wanted_layout.dp << " zero " << wanted_layout.zero;
      }
    }
  }
}
