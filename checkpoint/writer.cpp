// Staging, committing and pruning checkpoints (see writer.h).
#include "checkpoint/writer.h"

#include <fmt/format.h>

#include "checkpoint/manifest.h"
#include "checkpoint/resolve.h"
#include "core/crc32c.h"
#include "core/error.h"
#include "core/files.h"

namespace fs = std::filesystem;

namespace ember::checkpoint {
namespace {

std::string rank_stem(int rank) { return fmt::format("rank_{:05d}", rank); }

/// Adds one rank's part to the merged manifest, checking that a tensor's ranks agree on it.
void merge_part(const Manifest& part, const std::string& where, Manifest& merged) {
  for (const auto& [name, file] : part.files) {
    if (!merged.files.emplace(name, file).second) fail("{} lists '{}', which another rank wrote", where, name);
  }
  for (const auto& [name, tensor] : part.tensors) {
    auto [it, added] = merged.tensors.emplace(name, tensor);
    if (added) continue;
    if (it->second.group != tensor.group || it->second.dtype != tensor.dtype || it->second.shape != tensor.shape) {
      fail("{}: tensor '{}' disagrees with another rank's (group, dtype or shape)", where, name);
    }
    it->second.shards.insert(it->second.shards.end(), tensor.shards.begin(), tensor.shards.end());
  }
}

}  // namespace

CheckpointWriter::CheckpointWriter(fs::path run_dir, int64_t keep)
    : directory_(std::move(run_dir) / "checkpoints"), keep_(keep) {}

fs::path CheckpointWriter::staging(int64_t step) const { return directory_ / (".tmp-" + step_name(step)); }

void CheckpointWriter::begin(int64_t step) const {
  make_directories(directory_);
  std::error_code ec;
  fs::remove_all(staging(step), ec);
  make_directories(staging(step));
}

void CheckpointWriter::write_rank(int64_t step, int rank, const std::vector<ShardSource>& shards) const {
  const fs::path dir = staging(step);
  Manifest part;
  part.step = step;
  if (!shards.empty()) {
    const WrittenFile written = write_shard_file(dir / (rank_stem(rank) + ".safetensors"), shards);
    part.files[written.name] = FileRecord{written.bytes, written.crc32c, ""};
    for (const auto& shard : written.shards) part.tensors.emplace(shard.tensor, shard.record);
  }
  write_file_atomic(dir / (rank_stem(rank) + ".json"), part.to_json().dump() + "\n");
}

fs::path CheckpointWriter::commit(int64_t step, int world_size, const CheckpointInfo& info) const {
  const fs::path temporary = staging(step);
  const fs::path final_dir = directory_ / step_name(step);
  Manifest manifest;
  manifest.step = step;
  manifest.state = info.state;
  manifest.config_yaml = info.config_yaml;
  manifest.layout = info.layout;
  manifest.layout["world"] = world_size;
  for (int rank = 0; rank < world_size; ++rank) {
    const fs::path index = temporary / (rank_stem(rank) + ".json");
    const std::string where = "shard index '" + index.string() + "'";
    std::error_code ec;
    if (!fs::is_regular_file(index, ec)) fail("rank {} wrote no {} for the checkpoint at step {}", rank, where, step);
    merge_part(Manifest::from_json(nlohmann::json::parse(read_file(index)), where, false), where, manifest);
  }
  if (!info.tokenizer_json.empty()) {
    write_file_atomic(temporary / "tokenizer.json", info.tokenizer_json);
    manifest.files["tokenizer.json"] = FileRecord{info.tokenizer_json.size(), crc32c(info.tokenizer_json), ""};
  }
  const nlohmann::json manifest_json = manifest.to_json();
  Manifest::from_json(manifest_json, "the merged manifest of step " + std::to_string(step));  // every tensor covered
  for (int rank = 0; rank < world_size; ++rank) fs::remove(temporary / (rank_stem(rank) + ".json"));
  write_file_atomic(temporary / kManifestName, manifest_json.dump(1) + "\n");
  std::error_code ec;
  fs::remove_all(final_dir, ec);  // a re-run of the same step replaces it
  fs::rename(temporary, final_dir, ec);
  if (ec) fail("cannot move checkpoint into '{}': {}", final_dir.string(), ec.message());
  fsync_path(directory_);
  write_file_atomic(directory_ / "latest", step_name(step) + "\n");

  auto complete = list_checkpoints(directory_.parent_path());
  for (size_t i = size_t(keep_); i < complete.size(); ++i) fs::remove_all(complete[i], ec);
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {  // debris of killed writers
    if (entry.path().filename().string().rfind(".tmp-", 0) == 0) fs::remove_all(entry.path(), ec);
  }
  return final_dir;
}

void CheckpointWriter::abandon(int64_t step) const {
  std::error_code ec;
  fs::remove_all(staging(step), ec);
}

fs::path CheckpointWriter::save(const Checkpoint& checkpoint) const {
  std::vector<ShardSource> shards;
  for (const auto& [group, tensors] : {std::pair{"model", &checkpoint.model}, {"optimizer", &checkpoint.optimizer}}) {
    for (const auto& [name, tensor] : *tensors) {
      const at::Tensor data = tensor.detach().contiguous();
      shards.push_back({name, group, data, data.sizes().vec(), ShardSlice::whole(data.sizes().vec())});
    }
  }
  begin(checkpoint.step);
  try {
    write_rank(checkpoint.step, 0, shards);
    return commit(checkpoint.step, 1, checkpoint.info);
  } catch (...) {
    abandon(checkpoint.step);
    throw;
  }
}

}  // namespace ember::checkpoint
