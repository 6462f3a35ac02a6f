// One rank's shard file, streamed: a safetensors file of 1-D tensors (one per shard, under the
// logical tensor's name) written without ever holding more than one bounded host buffer.
//
// The sizes of every shard are known before any byte is written, so the header goes first; then
// each shard's elements are copied device -> host in chunks of at most `buffer_bytes` (CPU tensors
// are written straight from their memory), written, and checksummed as they go: CRC-32C per shard
// and over the whole file. The file is fsynced before write_shard_file returns.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

#include "checkpoint/manifest.h"

namespace ember::checkpoint {

inline constexpr int64_t kDefaultBufferBytes = int64_t(64) << 20;

/// A shard to write: `data` holds exactly slice.flat_length elements (any shape, any device;
/// contiguous) of the logical tensor `tensor` of `global_shape`.
struct ShardSource {
  std::string tensor;
  std::string group;  ///< "model" or "optimizer"
  at::Tensor data;
  std::vector<int64_t> global_shape;
  ShardSlice slice;
};

/// What a written file holds: its name, size and CRC-32C, and each shard's record and tensor.
struct WrittenFile {
  std::string name;
  uint64_t bytes = 0;
  uint32_t crc32c = 0;
  struct Shard {
    std::string tensor;
    TensorRecord record;  ///< group, dtype, global shape and this one shard
  };
  std::vector<Shard> shards;
};

/// Streams `sources` into `path` (see the top). Throws ember::Error naming the file and the system
/// error (a full disk) or the tensor at fault (two shards of one tensor, a size that does not match
/// its slice); the partial file is then removed.
WrittenFile write_shard_file(const std::filesystem::path& path, const std::vector<ShardSource>& sources,
                             int64_t buffer_bytes = kDefaultBufferBytes);

}  // namespace ember::checkpoint
