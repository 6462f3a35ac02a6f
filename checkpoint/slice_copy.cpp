// Boxes of shard slices and copies between them (see slice_copy.h).
#include "checkpoint/slice_copy.h"

#include <algorithm>

#include <c10/core/GradMode.h>

namespace ember::checkpoint {
namespace {

/// Appends the boxes of the flat range [lo, hi) of the sub-tensor shape[d:], inside `prefix`
/// (dims < d already fixed), advancing `position` by each box's size.
void flat_range_boxes(const std::vector<int64_t>& shape, size_t d, int64_t lo, int64_t hi, SliceBox prefix,
                      int64_t& position, std::vector<SliceBox>& out) {
  if (lo >= hi) return;
  const auto whole_from = [&](size_t dim, SliceBox& box) {
    for (size_t k = dim; k < shape.size(); ++k) {
      box.begin[k] = 0;
      box.end[k] = shape[k];
    }
  };
  if (d == shape.size()) {  // a scalar: one element
    prefix.position = position++;
    out.push_back(prefix);
    return;
  }
  int64_t stride = 1;
  for (size_t k = d + 1; k < shape.size(); ++k) stride *= shape[k];
  if (lo % stride == 0 && hi % stride == 0) {  // whole rows of dim d
    prefix.begin[d] = lo / stride;
    prefix.end[d] = hi / stride;
    whole_from(d + 1, prefix);
    prefix.position = position;
    position += hi - lo;
    out.push_back(prefix);
    return;
  }
  const int64_t first = lo / stride, last = (hi - 1) / stride;
  if (first == last) {  // inside one row: fix dim d and go down
    prefix.begin[d] = first;
    prefix.end[d] = first + 1;
    flat_range_boxes(shape, d + 1, lo - first * stride, hi - first * stride, prefix, position, out);
    return;
  }
  flat_range_boxes(shape, d, lo, (first + 1) * stride, prefix, position, out);              // partial first row
  flat_range_boxes(shape, d, (first + 1) * stride, last * stride, prefix, position, out);   // whole rows
  flat_range_boxes(shape, d, last * stride, hi, prefix, position, out);                     // partial last row
}

/// The 1-D buffer's elements of `box`, viewed with the box's shape, narrowed to [begin, end).
at::Tensor box_view(const at::Tensor& buffer, const SliceBox& box, const std::vector<int64_t>& begin,
                    const std::vector<int64_t>& end) {
  std::vector<int64_t> sizes(box.begin.size());
  int64_t count = 1;
  for (size_t k = 0; k < sizes.size(); ++k) {
    sizes[k] = box.end[k] - box.begin[k];
    count *= sizes[k];
  }
  at::Tensor view = buffer.narrow(0, box.position, count).view(sizes);
  for (size_t k = 0; k < sizes.size(); ++k) view = view.narrow(int64_t(k), begin[k] - box.begin[k], end[k] - begin[k]);
  return view;
}

}  // namespace

std::vector<SliceBox> slice_boxes(const std::vector<int64_t>& global, const ShardSlice& slice) {
  const auto local = slice.local_shape(global);
  SliceBox prefix;
  prefix.begin.assign(local.size(), 0);
  prefix.end.assign(local.size(), 0);
  std::vector<SliceBox> boxes;
  int64_t position = 0;
  flat_range_boxes(local, 0, slice.flat_offset, slice.flat_offset + slice.flat_length, prefix, position, boxes);
  if (slice.tp_dim >= 0) {
    for (auto& box : boxes) {
      box.begin[size_t(slice.tp_dim)] += slice.tp_start;
      box.end[size_t(slice.tp_dim)] += slice.tp_start;
    }
  }
  return boxes;
}

int64_t copy_overlap(const at::Tensor& stored, const ShardSlice& stored_slice, const at::Tensor& wanted,
                     const ShardSlice& wanted_slice, const std::vector<int64_t>& global) {
  c10::NoGradGuard no_grad;
  const auto from = slice_boxes(global, stored_slice);
  const auto to = slice_boxes(global, wanted_slice);
  int64_t copied = 0;
  std::vector<int64_t> begin(global.size()), end(global.size());
  for (const auto& a : from) {
    for (const auto& b : to) {
      int64_t count = 1;
      for (size_t k = 0; k < global.size(); ++k) {
        begin[k] = std::max(a.begin[k], b.begin[k]);
        end[k] = std::min(a.end[k], b.end[k]);
        count *= std::max<int64_t>(0, end[k] - begin[k]);
      }
      if (count == 0) continue;
      box_view(wanted, b, begin, end).copy_(box_view(stored, a, begin, end));
      copied += count;
    }
  }
  return copied;
}

}  // namespace ember::checkpoint
