// The manifest of an Ember checkpoint (manifest.json): what the checkpoint holds and how to check it.
//
//   RUN/checkpoints/step_000100/manifest.json            this file, written last
//   RUN/checkpoints/step_000100/rank_00003.safetensors   the slices world rank 3 owned (format 2)
//   RUN/checkpoints/step_000100/tokenizer.json           the run's tokenizer
//
// Format 2 (sharded). Every logical tensor has a global shape and dtype and a list of shards; a
// shard is a 1-D run of elements stored under the tensor's name in one file, placed in two steps:
//   tp slice    dim `tp_dim`, [tp_start, tp_start + tp_length) of the global tensor; the "tp-local"
//               tensor is the global one with that dim cut to tp_length (tp_dim < 0: the whole tensor)
//   flat range  [flat_offset, flat_offset + flat_length) of the tp-local tensor flattened row-major
//               (a ZeRO-1 partition; the whole tp-local tensor when the optimizer is not sharded)
// The shards of a tensor are disjoint and cover it: their flat_length add up to its element count.
// Every file carries its byte count and CRC-32C, every shard the CRC-32C of its bytes.
//
// Format 1 (written before sharding): model.safetensors and optimizer.safetensors of whole tensors,
// each file with its SHA-256. The reader treats each of their tensors as one shard covering it.
//
// Fields: format ("ember-checkpoint"), version (1 or 2), step, files {name: {bytes, crc32c | sha256}},
// tensors {name: {group ("model" | "optimizer"), dtype, shape, shards [{file, tp_dim, tp_start,
// tp_length, flat_offset, flat_length, crc32c}]}} (format 2), layout {world, dp, tp, zero} (format
// 2), state (the recipe's JSON), config (the resolved YAML of the run).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ember::checkpoint {

inline constexpr const char* kManifestName = "manifest.json";
inline constexpr int kFormatVersion = 2;

/// "step_000100": the directory of the checkpoint at a step.
std::string step_name(int64_t step);
/// The step a directory name stands for ("step_000100" -> 100), nothing for other names.
std::optional<int64_t> step_of_name(const std::string& name);

/// Where one shard sits in its logical tensor (see the top).
struct ShardSlice {
  int64_t tp_dim = -1;
  int64_t tp_start = 0;
  int64_t tp_length = 0;
  int64_t flat_offset = 0;
  int64_t flat_length = 0;

  /// The whole tensor of `shape` as one shard.
  static ShardSlice whole(const std::vector<int64_t>& shape);
  /// The tp-local tensor's shape: `global` with tp_dim cut to tp_length.
  std::vector<int64_t> local_shape(const std::vector<int64_t>& global) const;
  /// Empty when the slice lies inside a tensor of `global` shape, else why not.
  std::optional<std::string> check(const std::vector<int64_t>& global) const;
};

struct ShardRecord {
  std::string file;  ///< the safetensors file holding it (under the tensor's name)
  ShardSlice slice;
  uint32_t crc32c = 0;
};

struct TensorRecord {
  std::string group;  ///< "model" (parameters) or "optimizer" (moments, RNG and recipe tensors)
  std::string dtype;  ///< safetensors dtype name
  std::vector<int64_t> shape;
  std::vector<ShardRecord> shards;
};

struct FileRecord {
  uint64_t bytes = 0;
  std::optional<uint32_t> crc32c;  ///< format 2
  std::string sha256;              ///< format 1
};

struct Manifest {
  int version = kFormatVersion;
  int64_t step = 0;
  std::map<std::string, FileRecord> files;
  std::map<std::string, TensorRecord> tensors;  ///< format 2; the reader fills it for format 1
  nlohmann::json layout = nlohmann::json::object();
  nlohmann::json state = nlohmann::json::object();
  std::string config_yaml;

  nlohmann::json to_json() const;
  /// Parses and checks `dir`/manifest.json: format and version, a step equal to the directory's
  /// name (step_NNNNNN), every shard in a listed file and inside its tensor, shards that add up to
  /// each tensor. Throws ember::Error naming the file and the field at fault.
  static Manifest read(const std::filesystem::path& dir);
  /// The same checks but the directory name's, on parsed JSON; `where` names it in errors. Not
  /// `complete`: tensors may hold only some of their shards (one rank's part of a save).
  static Manifest from_json(const nlohmann::json& j, const std::string& where, bool complete = true);
};

/// CRC-32C as the manifest writes it: 8 lowercase hex digits.
std::string crc_text(uint32_t crc);

/// Element count of a shape (1 for a scalar).
int64_t numel_of(const std::vector<int64_t>& shape);

}  // namespace ember::checkpoint
