// Streaming a rank's shards into one safetensors file (see shard_file.h).
#include "checkpoint/shard_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <unistd.h>
#include <vector>

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <c10/core/GradMode.h>
#include <nlohmann/json.hpp>

#include "checkpoint/dtype_names.h"
#include "core/crc32c.h"
#include "core/error.h"

namespace fs = std::filesystem;

namespace ember::checkpoint {
namespace {

/// Checksums are computed in blocks this size, so the file's and the shard's CRC read the same
/// bytes while they are in cache.
constexpr size_t kCrcBlock = size_t(1) << 20;

/// A file written with write(2), checksummed as it goes, removed unless closed successfully.
class StreamedFile {
 public:
  explicit StreamedFile(fs::path path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot create checkpoint file '{}': {}", path_.string(), std::strerror(errno));
  }
  ~StreamedFile() {
    if (fd_ >= 0) {
      ::close(fd_);
      std::error_code ec;
      fs::remove(path_, ec);
    }
  }
  StreamedFile(const StreamedFile&) = delete;
  StreamedFile& operator=(const StreamedFile&) = delete;

  /// Writes `size` bytes; `shard_crc` (when given) is extended over them too.
  void write(const void* data, size_t size, uint32_t* shard_crc) {
    const auto* bytes = static_cast<const char*>(data);
    for (size_t done = 0; done < size;) {
      const size_t block = std::min(kCrcBlock, size - done);
      crc_ = crc32c_extend(crc_, bytes + done, block);
      if (shard_crc) *shard_crc = crc32c_extend(*shard_crc, bytes + done, block);
      done += block;
    }
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd_, bytes + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("cannot write checkpoint file '{}': {}", path_.string(), std::strerror(n < 0 ? errno : ENOSPC));
      done += size_t(n);
    }
    bytes_ += size;
  }

  /// fsync and close; the file stays.
  void close() {
    if (::fsync(fd_) != 0) fail("cannot fsync checkpoint file '{}': {}", path_.string(), std::strerror(errno));
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot close checkpoint file '{}': {}", path_.string(), std::strerror(errno));
  }

  uint64_t bytes() const { return bytes_; }
  uint32_t crc() const { return crc_; }

 private:
  fs::path path_;
  int fd_ = -1;
  uint64_t bytes_ = 0;
  uint32_t crc_ = 0;
};

/// The safetensors header for the shards in `order`, space-padded to a multiple of 8 bytes.
std::string header_of(const std::vector<const ShardSource*>& order, const std::vector<std::string>& dtypes) {
  nlohmann::json header = nlohmann::json::object();
  int64_t offset = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const int64_t bytes = order[i]->slice.flat_length * int64_t(order[i]->data.element_size());
    header[order[i]->tensor] = {{"dtype", dtypes[i]},
                                {"shape", std::vector<int64_t>{order[i]->slice.flat_length}},
                                {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

WrittenFile write_shard_file(const fs::path& path, const std::vector<ShardSource>& sources, int64_t buffer_bytes) {
  c10::NoGradGuard no_grad;
  // Largest elements first, so every shard starts aligned to its element size (the header is
  // padded to 8 bytes): readers map the file and view the bytes in place.
  std::vector<const ShardSource*> order;
  std::set<std::string> names;
  for (const auto& source : sources) {
    if (!names.insert(source.tensor).second) fail("'{}': two shards of tensor '{}' in one file", path.string(), source.tensor);
    if (source.data.numel() != source.slice.flat_length) {
      fail("'{}': shard of '{}' has {} elements but its slice {}", path.string(), source.tensor, source.data.numel(),
           source.slice.flat_length);
    }
    if (auto why = source.slice.check(source.global_shape)) fail("'{}': shard of '{}': {}", path.string(), source.tensor, *why);
    order.push_back(&source);
  }
  std::stable_sort(order.begin(), order.end(), [](const ShardSource* a, const ShardSource* b) {
    return a->data.element_size() > b->data.element_size();
  });
  std::vector<std::string> dtypes;
  for (const auto* source : order) dtypes.push_back(safetensors_dtype_of(source->data));

  StreamedFile file(path);
  const std::string header = header_of(order, dtypes);
  const uint64_t header_size = header.size();
  file.write(&header_size, sizeof header_size, nullptr);  // little-endian hosts only, as core/safetensors
  file.write(header.data(), header.size(), nullptr);

  at::Tensor staging;  // the one host buffer, for shards that are not in CPU memory already
  WrittenFile written;
  written.name = path.filename().string();
  for (size_t i = 0; i < order.size(); ++i) {
    const ShardSource& source = *order[i];
    if (!source.data.is_contiguous()) fail("'{}': shard of '{}' is not contiguous", path.string(), source.tensor);
    const at::Tensor flat = source.data.detach().view({-1});
    const int64_t element = int64_t(flat.element_size());
    uint32_t crc = 0;
    if (flat.is_cpu()) {
      file.write(flat.data_ptr(), size_t(flat.numel() * element), &crc);
    } else {
      const int64_t chunk = std::max<int64_t>(1, buffer_bytes / element);
      if (!staging.defined()) staging = at::empty({std::max<int64_t>(buffer_bytes, element)}, at::kByte);
      for (int64_t begin = 0; begin < flat.numel(); begin += chunk) {
        const int64_t count = std::min(chunk, flat.numel() - begin);
        at::Tensor host = at::from_blob(staging.data_ptr(), {count}, flat.options().device(at::kCPU));
        host.copy_(flat.narrow(0, begin, count));
        file.write(host.data_ptr(), size_t(count * element), &crc);
      }
    }
    TensorRecord record;
    record.group = source.group;
    record.dtype = dtypes[i];
    record.shape = source.global_shape;
    record.shards.push_back({written.name, source.slice, crc});
    written.shards.push_back({source.tensor, std::move(record)});
  }
  file.close();
  written.bytes = file.bytes();
  written.crc32c = file.crc();
  return written;
}

}  // namespace ember::checkpoint
