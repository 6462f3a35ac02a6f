// Reading, checking and writing checkpoint manifests (see manifest.h).
#include "checkpoint/manifest.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/files.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace ember::checkpoint {
namespace {

constexpr const char* kFormat = "ember-checkpoint";

std::optional<uint32_t> parse_crc(const std::string& text) {
  if (text.size() != 8 || text.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
  return uint32_t(std::stoul(text, nullptr, 16));
}

json slice_json(const ShardSlice& s) {
  return {{"tp_dim", s.tp_dim},
          {"tp_start", s.tp_start},
          {"tp_length", s.tp_length},
          {"flat_offset", s.flat_offset},
          {"flat_length", s.flat_length}};
}

/// The parts of a format-2 manifest that describe tensors, checked against the listed files.
void read_tensors(const json& tensors, const std::string& where, bool complete, Manifest& manifest) {
  if (!tensors.is_object()) fail("{}: 'tensors' must be an object", where);
  for (const auto& [name, entry] : tensors.items()) {
    const std::string at = fmt::format("{}: tensor '{}'", where, name);
    TensorRecord record;
    record.group = entry.at("group").get<std::string>();
    record.dtype = entry.at("dtype").get<std::string>();
    record.shape = entry.at("shape").get<std::vector<int64_t>>();
    if (record.group != "model" && record.group != "optimizer") fail("{} has group '{}'", at, record.group);
    for (int64_t size : record.shape) {
      if (size < 0) fail("{} has a negative dimension", at);
    }
    int64_t covered = 0;
    for (const auto& shard_json : entry.at("shards")) {
      ShardRecord shard;
      shard.file = shard_json.at("file").get<std::string>();
      shard.slice.tp_dim = shard_json.at("tp_dim").get<int64_t>();
      shard.slice.tp_start = shard_json.at("tp_start").get<int64_t>();
      shard.slice.tp_length = shard_json.at("tp_length").get<int64_t>();
      shard.slice.flat_offset = shard_json.at("flat_offset").get<int64_t>();
      shard.slice.flat_length = shard_json.at("flat_length").get<int64_t>();
      auto crc = parse_crc(shard_json.at("crc32c").get<std::string>());
      if (!crc) fail("{}: a shard's crc32c is not 8 hex digits", at);
      shard.crc32c = *crc;
      if (!manifest.files.count(shard.file)) fail("{} has a shard in '{}', which the manifest does not list", at, shard.file);
      if (auto why = shard.slice.check(record.shape)) fail("{}: {}", at, *why);
      covered += shard.slice.flat_length;
      record.shards.push_back(std::move(shard));
    }
    if (complete && covered != numel_of(record.shape)) {
      fail("{}: its shards hold {} elements but its shape [{}] has {}", at, covered, fmt::join(record.shape, ", "),
           numel_of(record.shape));
    }
    manifest.tensors[name] = std::move(record);
  }
}

}  // namespace

std::string step_name(int64_t step) { return fmt::format("step_{:06d}", step); }

std::optional<int64_t> step_of_name(const std::string& name) {
  const std::string prefix = "step_";
  if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) return std::nullopt;
  const std::string digits = name.substr(prefix.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 18) return std::nullopt;
  return std::stoll(digits);
}

std::string crc_text(uint32_t crc) { return fmt::format("{:08x}", crc); }

int64_t numel_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t size : shape) n *= size;
  return n;
}

ShardSlice ShardSlice::whole(const std::vector<int64_t>& shape) {
  ShardSlice slice;
  slice.flat_length = numel_of(shape);
  return slice;
}

std::vector<int64_t> ShardSlice::local_shape(const std::vector<int64_t>& global) const {
  auto shape = global;
  if (tp_dim >= 0) shape[size_t(tp_dim)] = tp_length;
  return shape;
}

std::optional<std::string> ShardSlice::check(const std::vector<int64_t>& global) const {
  if (tp_dim >= int64_t(global.size())) {
    return fmt::format("tp_dim {} is beyond its {} dimensions", tp_dim, global.size());
  }
  if (tp_dim >= 0 && (tp_start < 0 || tp_length < 0 || tp_start + tp_length > global[size_t(tp_dim)])) {
    return fmt::format("tp slice [{}, {}) of dim {} is outside its size {}", tp_start, tp_start + tp_length, tp_dim,
                       global[size_t(tp_dim)]);
  }
  const int64_t local = numel_of(local_shape(global));
  if (flat_offset < 0 || flat_length < 0 || flat_offset + flat_length > local) {
    return fmt::format("flat range [{}, {}) is outside its {} tp-local elements", flat_offset,
                       flat_offset + flat_length, local);
  }
  return std::nullopt;
}

json Manifest::to_json() const {
  json files_json = json::object();
  for (const auto& [name, file] : files) {
    json entry = {{"bytes", file.bytes}};
    if (file.crc32c) entry["crc32c"] = crc_text(*file.crc32c);
    if (!file.sha256.empty()) entry["sha256"] = file.sha256;
    files_json[name] = entry;
  }
  json tensors_json = json::object();
  for (const auto& [name, tensor] : tensors) {
    json shards = json::array();
    for (const auto& shard : tensor.shards) {
      json entry = slice_json(shard.slice);
      entry["file"] = shard.file;
      entry["crc32c"] = crc_text(shard.crc32c);
      shards.push_back(entry);
    }
    tensors_json[name] = {{"group", tensor.group}, {"dtype", tensor.dtype}, {"shape", tensor.shape}, {"shards", shards}};
  }
  json out = {{"format", kFormat}, {"version", version}, {"step", step},         {"files", files_json},
              {"layout", layout},  {"state", state},     {"config", config_yaml}};
  if (version >= 2) out["tensors"] = tensors_json;
  return out;
}

Manifest Manifest::read(const fs::path& dir) {
  const fs::path path = dir / kManifestName;
  const std::string where = "checkpoint manifest '" + path.string() + "'";
  json j;
  try {
    j = json::parse(read_file(path));
  } catch (const json::exception& e) {
    fail("{} is not valid JSON: {}", where, e.what());
  }
  Manifest manifest = from_json(j, where);
  if (auto named = step_of_name(dir.filename().string()); named && *named != manifest.step) {
    fail("{} records step {} but its directory is '{}': the checkpoint was renamed or its manifest replaced", where,
         manifest.step, dir.filename().string());
  }
  return manifest;
}

Manifest Manifest::from_json(const json& j, const std::string& where, bool complete) {
  if (!j.is_object() || j.value("format", "") != kFormat || !j.contains("files") || !j["files"].is_object() ||
      !j.contains("step") || !j["step"].is_number_integer()) {
    fail("{} is not an Ember checkpoint manifest", where);
  }
  Manifest manifest;
  try {
    manifest.version = j.value("version", 1);
    if (manifest.version < 1 || manifest.version > kFormatVersion) {
      fail("{} has format version {}; this build reads versions 1 to {} (a newer Ember wrote it)", where,
           manifest.version, kFormatVersion);
    }
    manifest.step = j["step"].get<int64_t>();
    for (const auto& [name, entry] : j["files"].items()) {
      if (name.find('/') != std::string::npos || name == ".." || name == "." || name == kManifestName) {
        fail("{} lists a file '{}' that cannot be part of a checkpoint", where, name);
      }
      FileRecord file;
      file.bytes = entry.value("bytes", uint64_t(0));
      if (entry.contains("crc32c")) {
        file.crc32c = parse_crc(entry["crc32c"].get<std::string>());
        if (!file.crc32c) fail("{}: the crc32c of '{}' is not 8 hex digits", where, name);
      }
      file.sha256 = entry.value("sha256", "");
      if (!file.crc32c && file.sha256.empty()) fail("{}: file '{}' has no checksum", where, name);
      manifest.files[name] = file;
    }
    manifest.layout = j.value("layout", json::object());
    manifest.state = j.value("state", json::object());
    manifest.config_yaml = j.value("config", "");
    if (manifest.version >= 2) {
      if (!j.contains("tensors")) fail("{} has no 'tensors'", where);
      read_tensors(j["tensors"], where, complete, manifest);
    }
  } catch (const json::exception& e) {
    fail("{} has a malformed field: {}", where, e.what());
  }
  return manifest;
}

}  // namespace ember::checkpoint
