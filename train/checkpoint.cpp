// Crash-safe checkpoints (see checkpoint.h).
#include "train/checkpoint.h"

#include <algorithm>
#include <unistd.h>

#include <fmt/format.h>

#include "core/config/loader.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/sha256.h"
#include "train/config.h"
#include "train/tensor_io.h"

namespace fs = std::filesystem;

namespace ember::train {
namespace {

constexpr const char* kManifest = "manifest.json";
constexpr const char* kFormat = "ember-checkpoint";

std::string step_name(int64_t step) { return fmt::format("step_{:06d}", step); }

bool is_complete(const fs::path& dir) {
  std::error_code ec;
  return dir.filename().string().rfind("step_", 0) == 0 && fs::is_regular_file(dir / kManifest, ec);
}

nlohmann::json read_manifest(const fs::path& dir) {
  auto path = dir / kManifest;
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail("checkpoint manifest '{}' is not valid JSON: {}", path.string(), e.what());
  }
  if (!manifest.is_object() || manifest.value("format", "") != kFormat || !manifest.contains("files") ||
      !manifest["files"].is_object() || !manifest.contains("step")) {
    fail("'{}' is not an Ember checkpoint manifest", path.string());
  }
  return manifest;
}

}  // namespace

CheckpointWriter::CheckpointWriter(fs::path run_dir, int64_t keep)
    : directory_(std::move(run_dir) / "checkpoints"), keep_(keep) {}

fs::path CheckpointWriter::save(const Checkpoint& checkpoint) {
  make_directories(directory_);
  const auto final_dir = directory_ / step_name(checkpoint.step);
  const auto temporary = directory_ / fmt::format(".tmp-{}-{}", step_name(checkpoint.step), ::getpid());
  std::error_code ec;
  fs::remove_all(temporary, ec);
  make_directories(temporary);
  try {
    save_tensors(temporary / "model.safetensors", checkpoint.model, {{"format", "pt"}});
    save_tensors(temporary / "optimizer.safetensors", checkpoint.optimizer);
    std::vector<std::string> names = {"model.safetensors", "optimizer.safetensors"};
    if (!checkpoint.tokenizer_json.empty()) {
      write_file_atomic(temporary / "tokenizer.json", checkpoint.tokenizer_json);
      names.push_back("tokenizer.json");
    }
    nlohmann::json files = nlohmann::json::object();
    for (const auto& name : names) {
      files[name] = {{"sha256", sha256_file((temporary / name).string())},
                     {"bytes", fs::file_size(temporary / name)}};
    }
    nlohmann::json manifest = {{"format", kFormat},      {"version", 1},
                               {"step", checkpoint.step}, {"files", files},
                               {"state", checkpoint.state}, {"config", checkpoint.config_yaml}};
    write_file_atomic(temporary / kManifest, manifest.dump(2) + "\n");
    fs::remove_all(final_dir, ec);  // a re-run of the same step replaces it
    fs::rename(temporary, final_dir, ec);
    if (ec) fail("cannot move checkpoint into '{}': {}", final_dir.string(), ec.message());
    fsync_path(directory_);
  } catch (...) {
    fs::remove_all(temporary, ec);
    throw;
  }
  write_file_atomic(directory_ / "latest", step_name(checkpoint.step) + "\n");

  auto complete = list_checkpoints(directory_.parent_path());
  for (size_t i = size_t(keep_); i < complete.size(); ++i) fs::remove_all(complete[i], ec);
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {  // debris of killed writers
    if (entry.path().filename().string().rfind(".tmp-", 0) == 0 && entry.path() != temporary) {
      fs::remove_all(entry.path(), ec);
    }
  }
  return final_dir;
}

bool checkpoint_due(const CheckpointConfig& checkpoint, int64_t step, int64_t total_steps) {
  return (checkpoint.interval > 0 && step % checkpoint.interval == 0) || step == total_steps;
}

std::vector<fs::path> list_checkpoints(const fs::path& run_dir) {
  std::vector<fs::path> found;
  std::error_code ec;
  auto dir = run_dir / "checkpoints";
  if (!fs::is_directory(dir, ec)) return found;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory() && is_complete(entry.path())) found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) { return a.filename() > b.filename(); });
  return found;
}

fs::path resolve_checkpoint(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("checkpoint path '{}' does not exist", path.string());
  if (fs::is_regular_file(path / kManifest, ec)) return path;
  auto found = list_checkpoints(path);
  if (!found.empty()) return found.front();
  fail("'{}' is neither a checkpoint (no {}) nor a run directory with complete checkpoints", path.string(),
       kManifest);
}

void verify_checkpoint(const fs::path& dir) {
  auto manifest = read_manifest(dir);
  for (const auto& [name, info] : manifest["files"].items()) {
    auto path = dir / name;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) fail("checkpoint file '{}' is missing", path.string());
    auto expected = info.value("sha256", "");
    if (sha256_file(path.string()) != expected) {
      fail("checkpoint file '{}' is corrupt: its SHA-256 does not match the manifest", path.string());
    }
  }
}

Checkpoint load_checkpoint(const fs::path& dir) {
  verify_checkpoint(dir);
  auto manifest = read_manifest(dir);
  Checkpoint checkpoint;
  checkpoint.step = manifest["step"].get<int64_t>();
  checkpoint.state = manifest.value("state", nlohmann::json::object());
  checkpoint.config_yaml = manifest.value("config", "");
  checkpoint.model = load_tensors(dir / "model.safetensors");
  checkpoint.optimizer = load_tensors(dir / "optimizer.safetensors");
  if (manifest["files"].contains("tokenizer.json")) checkpoint.tokenizer_json = read_file(dir / "tokenizer.json");
  return checkpoint;
}

model::ModelConfig read_model_config(const fs::path& dir) {
  auto manifest = read_manifest(dir);
  auto origin = "config in '" + (dir / kManifest).string() + "'";
  auto raw = config::load_text(manifest.value("config", ""), origin);
  config::RawConfig model_keys;
  for (const auto& key : raw.keys()) {
    if (key.rfind("model.", 0) == 0) model_keys.set(key, raw.at(key));
  }
  model::ModelConfig model;
  config::Schema schema;
  describe_model(schema, model);
  schema.apply(model_keys);
  return model;
}

fs::path checkpoint_tokenizer(const fs::path& dir) {
  auto path = dir / "tokenizer.json";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("checkpoint '{}' has no tokenizer.json", dir.string());
  return path;
}

std::optional<fs::path> find_resume_checkpoint(const fs::path& run_dir, const std::string& resume, bool fall_back) {
  if (resume == "none") return std::nullopt;
  if (resume != "auto") {
    auto dir = resolve_checkpoint(resume);
    verify_checkpoint(dir);
    return dir;
  }
  for (const auto& dir : list_checkpoints(run_dir)) {
    try {
      verify_checkpoint(dir);
      return dir;
    } catch (const Error& e) {
      if (!fall_back) {
        fail("{} (checkpoint.on_corrupt=stop; set it to fallback to resume from the previous one)", e.what());
      }
      log::error("{}; falling back to the previous checkpoint", e.what());
    }
  }
  return std::nullopt;
}

}  // namespace ember::train
