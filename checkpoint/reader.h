// Reading tensors out of a checkpoint of any layout (format 2, sharded) or of format 1 (whole
// tensors in model.safetensors / optimizer.safetensors: one shard per tensor).
//
// Files are memory-mapped and only listed ones are opened; each is checked against its manifest
// checksum the first time it is opened, so nothing unverified is ever used. A read assembles any
// region (a tp slice, then a flat range of the tp-local tensor, as ShardSlice says) from the shards
// that overlap it: the only memory it takes is the region it returns, and only the pages of the
// overlapping shards are read from disk. So a rank resuming at another dp / tp / ZeRO layout reads
// what it owns now, and export reads whole tensors one at a time.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ATen/Tensor.h>
#include <nlohmann/json.hpp>

#include "checkpoint/manifest.h"
#include "core/safetensors.h"

namespace ember::checkpoint {

class CheckpointReader {
 public:
  /// Reads and checks `dir`'s manifest (files are verified as they are opened). Throws
  /// ember::Error naming the file at fault.
  explicit CheckpointReader(std::filesystem::path dir);
  CheckpointReader(CheckpointReader&&) noexcept;
  CheckpointReader& operator=(CheckpointReader&&) noexcept;
  ~CheckpointReader();

  const std::filesystem::path& dir() const { return dir_; }
  int64_t step() const { return manifest_.step; }
  const nlohmann::json& state() const { return manifest_.state; }
  const std::string& config_yaml() const { return manifest_.config_yaml; }
  const Manifest& manifest() const { return manifest_; }

  /// Names of the tensors of a group ("model", "optimizer"), sorted.
  std::vector<std::string> names(const std::string& group) const;
  bool contains(const std::string& name) const { return manifest_.tensors.count(name) > 0; }
  /// The record of `name`; throws ember::Error naming the checkpoint when it has none.
  const TensorRecord& tensor(const std::string& name) const;

  /// The whole logical tensor (CPU, its stored dtype and global shape).
  at::Tensor read(const std::string& name) const;
  /// The tp slice [start, start + length) of dim `dim` (dim < 0: whole), shaped as the tp-local tensor.
  at::Tensor read_tp_slice(const std::string& name, int64_t dim, int64_t start, int64_t length) const;
  /// Any region (1-D, region.flat_length elements). Throws ember::Error when the region lies outside
  /// the tensor or the shards do not cover it.
  at::Tensor read_region(const std::string& name, const ShardSlice& region) const;

 private:
  /// The mapped file `name`, verified on first use.
  const SafetensorsFile& file(const std::string& name) const;
  /// Format 1: one whole-tensor shard for each tensor of the two listed files.
  void add_format1_tensors();

  std::filesystem::path dir_;
  Manifest manifest_;
  mutable std::map<std::string, SafetensorsFile> files_;
};

}  // namespace ember::checkpoint
