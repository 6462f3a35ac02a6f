// Checksums of a checkpoint's files and shards (see verify.h).
#include "checkpoint/verify.h"

#include <fstream>
#include <vector>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "core/sha256.h"

namespace fs = std::filesystem;

namespace ember::checkpoint {
namespace {

uint32_t crc32c_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read checkpoint file '{}'", path.string());
  std::vector<char> block(size_t(1) << 20);
  uint32_t crc = 0;
  while (in) {
    in.read(block.data(), std::streamsize(block.size()));
    crc = crc32c_extend(crc, block.data(), size_t(in.gcount()));
  }
  if (in.bad()) fail("cannot read checkpoint file '{}'", path.string());
  return crc;
}

void verify_shards(const fs::path& dir, const Manifest& manifest) {
  std::map<std::string, SafetensorsFile> files;
  for (const auto& [name, tensor] : manifest.tensors) {
    for (const auto& shard : tensor.shards) {
      auto it = files.find(shard.file);
      if (it == files.end()) it = files.emplace(shard.file, SafetensorsFile::open(dir / shard.file)).first;
      const TensorView& view = it->second.get(name);
      if (view.dtype != tensor.dtype || view.numel() != shard.slice.flat_length) {
        fail("checkpoint file '{}': tensor '{}' is {} of {} elements but the manifest says {} of {}",
             (dir / shard.file).string(), name, view.dtype, view.numel(), tensor.dtype, shard.slice.flat_length);
      }
      if (crc32c_extend(0, view.data, view.nbytes) != shard.crc32c) {
        fail("checkpoint file '{}' is corrupt: the shard of '{}' does not match its CRC-32C", (dir / shard.file).string(),
             name);
      }
    }
  }
}

}  // namespace

void verify_file(const fs::path& dir, const std::string& name, const FileRecord& record) {
  const fs::path path = dir / name;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("checkpoint file '{}' is missing", path.string());
  if (record.bytes != 0 && fs::file_size(path, ec) != record.bytes) {
    fail("checkpoint file '{}' is corrupt: {} bytes, the manifest says {}", path.string(), fs::file_size(path, ec),
         record.bytes);
  }
  if (record.crc32c) {
    if (crc32c_file(path) != *record.crc32c) {
      fail("checkpoint file '{}' is corrupt: its CRC-32C does not match the manifest", path.string());
    }
  } else if (sha256_file(path.string()) != record.sha256) {
    fail("checkpoint file '{}' is corrupt: its SHA-256 does not match the manifest", path.string());
  }
}

Manifest verify_checkpoint(const fs::path& dir) {
  Manifest manifest = Manifest::read(dir);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".safetensors" && !manifest.files.count(name)) {
      fail("checkpoint '{}' holds '{}', which its manifest does not list: refusing a checkpoint mixed with other "
           "weights (remove the file or use another checkpoint)",
           dir.string(), name);
    }
  }
  for (const auto& [name, record] : manifest.files) verify_file(dir, name, record);
  verify_shards(dir, manifest);
  return manifest;
}

}  // namespace ember::checkpoint
