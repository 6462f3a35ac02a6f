// Copying between shards of one logical tensor stored at different layouts (see manifest.h for
// ShardSlice: a tp slice along one dim, then a flat range of the tp-local tensor).
//
// A flat range [lo, hi) of a row-major tensor of shape (s_0, ..., s_k) is a union of at most 2k + 1
// boxes (a partial row at each level going in, whole rows in the middle, a partial row at each
// level coming out), and its elements are the boxes' elements in order. Shifting the tp dim by
// tp_start puts each box in global coordinates. Copying a stored shard into a wanted one is then,
// for every pair of boxes (stored, wanted), a copy of the boxes' intersection: strided views of the
// two 1-D buffers, no temporary beyond the wanted buffer itself.
#pragma once

#include <vector>

#include <ATen/Tensor.h>

#include "checkpoint/manifest.h"

namespace ember::checkpoint {

/// A box of global coordinates [begin_d, end_d) per dim, and where its first element sits in the
/// shard's 1-D buffer (the box's elements follow row-major).
struct SliceBox {
  std::vector<int64_t> begin, end;
  int64_t position = 0;
};

/// The boxes of `slice` in a tensor of `global` shape, in buffer order.
std::vector<SliceBox> slice_boxes(const std::vector<int64_t>& global, const ShardSlice& slice);

/// Copies the elements that `stored` (1-D, slice `stored_slice`) and `wanted` (1-D, slice
/// `wanted_slice`) have in common from the first into the second; returns how many.
int64_t copy_overlap(const at::Tensor& stored, const ShardSlice& stored_slice, const at::Tensor& wanted,
                     const ShardSlice& wanted_slice, const std::vector<int64_t>& global);

}  // namespace ember::checkpoint
