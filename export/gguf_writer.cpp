// GGUF v3 writer (see gguf_writer.h).
#include "export/gguf_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"

namespace fs = std::filesystem;

namespace ember::exporting {
namespace {

constexpr uint32_t kVersion = 3;
constexpr size_t kMaxNameBytes = 64;  // ggml's GGML_MAX_NAME: names must be shorter

template <typename T>
void append(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // little-endian host
  out.append(bytes, sizeof(T));
}

void append_string(std::string& out, const std::string& text) {
  append<uint64_t>(out, text.size());
  out += text;
}

uint64_t padded(uint64_t bytes, uint64_t alignment) { return (bytes + alignment - 1) / alignment * alignment; }

/// Owns a FILE* and writes with error checks.
class OutputFile {
 public:
  explicit OutputFile(const fs::path& path) : path_(path), file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) fail("cannot create '{}': {}", path.string(), std::strerror(errno));
  }
  ~OutputFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  void write(const void* data, size_t size) {
    if (size > 0 && std::fwrite(data, 1, size, file_) != size) {
      fail("cannot write '{}': {}", path_.string(), std::strerror(errno));
    }
  }
  void zeros(size_t count) {
    static const char kZeros[64] = {};
    while (count > 0) {
      const size_t chunk = std::min(count, sizeof(kZeros));
      write(kZeros, chunk);
      count -= chunk;
    }
  }
  void close() {
    const bool ok = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
    const int error = errno;
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!ok || !closed) fail("cannot write '{}': {}", path_.string(), std::strerror(error));
  }

 private:
  fs::path path_;
  std::FILE* file_;
};

}  // namespace

int64_t ggml_block_values(GgmlType type) { return type == GgmlType::kQ8_0 ? 32 : 1; }

int64_t ggml_block_bytes(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: return 4;
    case GgmlType::kF16:
    case GgmlType::kBF16: return 2;
    case GgmlType::kQ8_0: return 34;
  }
  return 0;
}

int64_t ggml_tensor_bytes(GgmlType type, int64_t numel) {
  return numel / ggml_block_values(type) * ggml_block_bytes(type);
}

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment % 8 != 0) {
    fail("GGUF alignment {} must be a power of two and a multiple of 8", alignment);
  }
  if (alignment != 32) add_uint32("general.alignment", alignment);
}

void GgufWriter::begin_key(const std::string& key, GgufValueType type) {
  if (key.empty() || key.size() > 65535) fail("GGUF key '{}' must be 1 to 65535 bytes", key);
  if (std::find(keys_.begin(), keys_.end(), key) != keys_.end()) fail("GGUF key '{}' is set twice", key);
  keys_.push_back(key);
  append_string(metadata_, key);
  append<uint32_t>(metadata_, uint32_t(type));
}

void GgufWriter::add_uint32(const std::string& key, uint32_t value) {
  begin_key(key, GgufValueType::kUint32);
  append(metadata_, value);
}

void GgufWriter::add_int32(const std::string& key, int32_t value) {
  begin_key(key, GgufValueType::kInt32);
  append(metadata_, value);
}

void GgufWriter::add_float32(const std::string& key, float value) {
  begin_key(key, GgufValueType::kFloat32);
  append(metadata_, value);
}

void GgufWriter::add_bool(const std::string& key, bool value) {
  begin_key(key, GgufValueType::kBool);
  append<uint8_t>(metadata_, value ? 1 : 0);
}

void GgufWriter::add_string(const std::string& key, const std::string& value) {
  begin_key(key, GgufValueType::kString);
  append_string(metadata_, value);
}

void GgufWriter::add_string_array(const std::string& key, const std::vector<std::string>& values) {
  begin_key(key, GgufValueType::kArray);
  append<uint32_t>(metadata_, uint32_t(GgufValueType::kString));
  append<uint64_t>(metadata_, values.size());
  for (const std::string& value : values) append_string(metadata_, value);
}

void GgufWriter::add_int32_array(const std::string& key, const std::vector<int32_t>& values) {
  begin_key(key, GgufValueType::kArray);
  append<uint32_t>(metadata_, uint32_t(GgufValueType::kInt32));
  append<uint64_t>(metadata_, values.size());
  for (int32_t value : values) append(metadata_, value);
}

void GgufWriter::add_tensor(const std::string& name, const std::vector<int64_t>& torch_shape, GgmlType type,
                            Producer produce) {
  if (name.empty() || name.size() >= kMaxNameBytes) {
    fail("GGUF tensor name '{}' must be 1 to {} bytes", name, kMaxNameBytes - 1);
  }
  for (const Tensor& tensor : tensors_) {
    if (tensor.name == name) fail("GGUF tensor '{}' is added twice", name);
  }
  if (torch_shape.empty() || torch_shape.size() > 4) {
    fail("GGUF tensor '{}' has {} dimensions (1 to 4 allowed)", name, torch_shape.size());
  }
  std::vector<int64_t> ne(torch_shape.rbegin(), torch_shape.rend());
  int64_t numel = 1;
  for (int64_t dim : ne) {
    if (dim < 1) fail("GGUF tensor '{}' has an empty dimension", name);
    numel *= dim;
  }
  if (ne[0] % ggml_block_values(type) != 0) {
    fail("GGUF tensor '{}': row length {} is not a multiple of the block size {}", name, ne[0], ggml_block_values(type));
  }
  const uint64_t nbytes = uint64_t(ggml_tensor_bytes(type, numel));
  tensors_.push_back(Tensor{name, std::move(ne), type, data_bytes_, nbytes, std::move(produce)});
  data_bytes_ += padded(nbytes, alignment_);
}

void GgufWriter::write(const fs::path& path) const {
  std::string head;
  head += "GGUF";
  append<uint32_t>(head, kVersion);
  append<uint64_t>(head, tensors_.size());
  append<uint64_t>(head, keys_.size());
  head += metadata_;
  for (const Tensor& tensor : tensors_) {
    append_string(head, tensor.name);
    append<uint32_t>(head, uint32_t(tensor.ne.size()));
    for (int64_t dim : tensor.ne) append<uint64_t>(head, uint64_t(dim));
    append<uint32_t>(head, uint32_t(tensor.type));
    append<uint64_t>(head, tensor.offset);
  }
  head.resize(padded(head.size(), alignment_), '\0');

  const fs::path temporary = path.parent_path() / fmt::format(".{}.tmp-{}", path.filename().string(), ::getpid());
  try {
    OutputFile file(temporary);
    file.write(head.data(), head.size());
    for (const Tensor& tensor : tensors_) {
      const std::vector<std::byte> bytes = tensor.produce();
      if (bytes.size() != tensor.nbytes) {
        fail("GGUF tensor '{}' produced {} bytes, expected {}", tensor.name, bytes.size(), tensor.nbytes);
      }
      file.write(bytes.data(), bytes.size());
      file.zeros(size_t(padded(tensor.nbytes, alignment_) - tensor.nbytes));
    }
    file.close();
    std::error_code ec;
    fs::rename(temporary, path, ec);
    if (ec) fail("cannot move '{}' to '{}': {}", temporary.string(), path.string(), ec.message());
  } catch (...) {
    std::error_code ec;
    fs::remove(temporary, ec);
    throw;
  }
}

}  // namespace ember::exporting
