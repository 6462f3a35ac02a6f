// Assembling tensors and regions from a checkpoint's shards (see reader.h).
#include "checkpoint/reader.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include "checkpoint/slice_copy.h"
#include "checkpoint/dtype_names.h"
#include "checkpoint/verify.h"
#include "core/error.h"

namespace fs = std::filesystem;

namespace ember::checkpoint {
namespace {

/// A read-only view of a shard's bytes in a mapped file (the reader only ever copies out of it).
at::Tensor shard_tensor(const TensorView& view, at::ScalarType type) {
  return at::from_blob(const_cast<std::byte*>(view.data), {view.numel()}, at::TensorOptions().dtype(type));
}

}  // namespace

CheckpointReader::CheckpointReader(fs::path dir) : dir_(std::move(dir)), manifest_(Manifest::read(dir_)) {
  if (manifest_.version == 1) add_format1_tensors();
}

CheckpointReader::CheckpointReader(CheckpointReader&&) noexcept = default;
CheckpointReader& CheckpointReader::operator=(CheckpointReader&&) noexcept = default;
CheckpointReader::~CheckpointReader() = default;

void CheckpointReader::add_format1_tensors() {
  for (const auto& [file_name, group] : {std::pair{"model.safetensors", "model"}, {"optimizer.safetensors", "optimizer"}}) {
    if (!manifest_.files.count(file_name)) {
      fail("checkpoint '{}' (format 1) does not list {} in its manifest", dir_.string(), file_name);
    }
    const SafetensorsFile& weights = file(file_name);
    for (const auto& name : weights.names()) {
      const TensorView& view = weights.get(name);
      TensorRecord record;
      record.group = group;
      record.dtype = view.dtype;
      record.shape = view.shape;
      record.shards.push_back({file_name, ShardSlice::whole(view.shape), 0});
      if (!manifest_.tensors.emplace(name, std::move(record)).second) {
        fail("checkpoint '{}' has tensor '{}' in both model and optimizer files", dir_.string(), name);
      }
    }
  }
}

const SafetensorsFile& CheckpointReader::file(const std::string& name) const {
  auto it = files_.find(name);
  if (it != files_.end()) return it->second;
  auto listed = manifest_.files.find(name);
  if (listed == manifest_.files.end()) fail("checkpoint '{}' does not list '{}' in its manifest", dir_.string(), name);
  verify_file(dir_, name, listed->second);
  return files_.emplace(name, SafetensorsFile::open(dir_ / name)).first->second;
}

std::vector<std::string> CheckpointReader::names(const std::string& group) const {
  std::vector<std::string> names;
  for (const auto& [name, record] : manifest_.tensors) {
    if (record.group == group) names.push_back(name);
  }
  return names;
}

const TensorRecord& CheckpointReader::tensor(const std::string& name) const {
  auto it = manifest_.tensors.find(name);
  if (it == manifest_.tensors.end()) fail("checkpoint '{}' has no tensor '{}'", dir_.string(), name);
  return it->second;
}

at::Tensor CheckpointReader::read(const std::string& name) const {
  const auto& record = tensor(name);
  return read_region(name, ShardSlice::whole(record.shape)).view(record.shape);
}

at::Tensor CheckpointReader::read_tp_slice(const std::string& name, int64_t dim, int64_t start, int64_t length) const {
  const auto& record = tensor(name);
  ShardSlice region;
  region.tp_dim = dim;
  region.tp_start = start;
  region.tp_length = length;
  const auto local = region.local_shape(record.shape);
  region.flat_length = numel_of(local);
  return read_region(name, region).view(local);
}

at::Tensor CheckpointReader::read_region(const std::string& name, const ShardSlice& region) const {
  const auto& record = tensor(name);
  if (auto why = region.check(record.shape)) fail("checkpoint '{}': cannot read '{}': {}", dir_.string(), name, *why);
  const at::ScalarType type = scalar_type_of(record.dtype);
  at::Tensor out = at::empty({region.flat_length}, at::TensorOptions().dtype(type));
  int64_t filled = 0;
  for (const auto& shard : record.shards) {
    const TensorView& view = file(shard.file).get(name);
    if (view.dtype != record.dtype || view.numel() != shard.slice.flat_length) {
      fail("checkpoint file '{}': tensor '{}' is {} of {} elements but the manifest says {} of {}",
           (dir_ / shard.file).string(), name, view.dtype, view.numel(), record.dtype, shard.slice.flat_length);
    }
    filled += copy_overlap(shard_tensor(view, type), shard.slice, out, region, record.shape);
  }
  if (filled != region.flat_length) {
    fail("checkpoint '{}': the shards of '{}' cover {} of the {} elements asked for", dir_.string(), name, filled,
         region.flat_length);
  }
  return out;
}

}  // namespace ember::checkpoint
