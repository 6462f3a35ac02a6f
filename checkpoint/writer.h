// Writing crash-safe checkpoints, from one process or from every rank of a job.
//
//   lead     begin(step)            RUN/checkpoints/.tmp-step_000100/ created empty
//   rank r   write_rank(step, r, .) rank_0000r.safetensors (its shards, streamed, shard_file.h)
//                                   and rank_0000r.json (its part of the manifest), both fsynced
//   (the caller agrees over the ranks that every write_rank succeeded: a collective)
//   lead     commit(step, world, .) merges the ranks' parts (the per-rank index files on the shared
//                                   run directory are how the ranks' shard lists reach the lead),
//                                   writes tokenizer.json and the manifest last, removes the index
//                                   files, renames the directory into place, updates `latest`,
//                                   prunes to `keep` checkpoints
//   lead     abandon(step)          after any rank failed: removes the temporary directory
// A directory named step_* with a manifest is complete; anything else is not a checkpoint, so a
// crash at any point leaves the earlier checkpoints as they were.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ATen/Tensor.h>
#include <nlohmann/json.hpp>

#include "checkpoint/shard_file.h"

namespace ember::checkpoint {

/// What the lead adds to the ranks' tensors: the recipe's state, the run's config and tokenizer,
/// and the layout that wrote it.
struct CheckpointInfo {
  nlohmann::json state = nlohmann::json::object();
  std::string config_yaml;
  std::string tokenizer_json;  ///< may be empty: no tokenizer.json
  nlohmann::json layout = nlohmann::json::object();
};

/// A whole checkpoint in memory, for one process (import, tests): whole tensors by name.
struct Checkpoint {
  int64_t step = 0;
  std::map<std::string, at::Tensor> model;      ///< parameters by canonical name
  std::map<std::string, at::Tensor> optimizer;  ///< optimizer state and RNG tensors by name
  CheckpointInfo info;
};

class CheckpointWriter {
 public:
  CheckpointWriter(std::filesystem::path run_dir, int64_t keep);

  /// RUN/checkpoints/.tmp-step_NNNNNN: where the ranks write a save in progress.
  std::filesystem::path staging(int64_t step) const;
  /// Lead: an empty staging directory (debris of an earlier attempt at this step removed).
  void begin(int64_t step) const;
  /// Any rank: writes its shards (none is fine) into the staging directory.
  void write_rank(int64_t step, int rank, const std::vector<ShardSource>& shards) const;
  /// Lead, once every rank's write_rank succeeded: completes the checkpoint (see the top) and
  /// returns its directory. Throws ember::Error (naming the path and the system error, e.g. disk
  /// full, or the rank whose part is missing) leaving earlier checkpoints intact.
  std::filesystem::path commit(int64_t step, int world_size, const CheckpointInfo& info) const;
  /// Lead: removes the staging directory of a failed save.
  void abandon(int64_t step) const;

  /// One process: begin, write_rank(0) of the whole tensors, commit.
  std::filesystem::path save(const Checkpoint& checkpoint) const;

 private:
  std::filesystem::path directory_;
  int64_t keep_;
};

}  // namespace ember::checkpoint
