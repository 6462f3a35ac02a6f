// safetensors files: the tensor container Ember uses for checkpoints and Hugging Face export.
// Torch-free: tensors are byte spans plus a dtype name and a shape.
//
// Layout (huggingface/safetensors):
//   [8 bytes]  N, the header length, u64 little-endian
//   [N bytes]  UTF-8 JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
//              ..., "__metadata__": {"key": "value", ...}}   (metadata optional, strings only)
//   [rest]     raw little-endian row-major bytes; offsets are relative to byte 8 + N
// The buffer is fully covered: sorted by offset, the first tensor begins at 0 and each begins where
// the previous one ends (no holes, no overlaps), and the last ends at the end of the file.
//
//   SafetensorsWriter writer;
//   writer.add("w", "F32", {2, 3}, std::as_bytes(std::span(values)));   // bytes borrowed until write
//   writer.set_metadata({{"format", "pt"}});
//   writer.write("model.safetensors");                                  // atomic
//
//   auto file = SafetensorsFile::open("model.safetensors");              // validated, memory-mapped
//   TensorView w = file.get("w");                                         // w.data points into the map
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ember {

/// Bytes per element of a safetensors dtype name (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL,
/// U16, U32, U64). Throws ember::Error for any other name.
size_t safetensors_dtype_size(std::string_view dtype);

/// True when `dtype` is one of the names above.
bool safetensors_dtype_known(std::string_view dtype);

/// One tensor inside an open file: dtype name, shape, and its bytes (valid while the file is open).
struct TensorView {
  std::string dtype;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;
  size_t nbytes = 0;

  /// Number of elements (1 for a scalar, shape []).
  int64_t numel() const;
};

/// A validated, read-only, memory-mapped safetensors file. Move-only; the mapping lives as long as
/// the object, so views from get() must not outlive it.
class SafetensorsFile {
 public:
  /// Maps and validates `path`: header length against the file size, JSON syntax, unique names,
  /// known dtypes, byte spans equal to numel * itemsize, contiguous in-bounds offsets, and a
  /// string-to-string `__metadata__`. Throws ember::Error naming the file (and tensor) otherwise.
  static SafetensorsFile open(const std::filesystem::path& path);

  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  /// Tensor names in the order their bytes appear in the file.
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return tensors_.count(name) > 0; }
  /// The tensor called `name`; throws ember::Error naming the file when it is absent.
  const TensorView& get(const std::string& name) const;
  /// The `__metadata__` map (empty when the file has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  SafetensorsFile() = default;
  void unmap();

  std::filesystem::path path_;
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  std::vector<std::string> names_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

/// Collects tensors and writes one safetensors file. Tensors are laid out by element size
/// (largest first), then by name, after a header space-padded to a multiple of 8 bytes, so every
/// tensor starts aligned to its element size.
class SafetensorsWriter {
 public:
  /// Adds a tensor. `bytes` is borrowed, not copied: it must stay valid until write() returns.
  /// Throws ember::Error for a duplicate or reserved name, an unknown dtype, a negative dimension,
  /// or a byte count that is not numel * itemsize.
  void add(const std::string& name, const std::string& dtype, std::vector<int64_t> shape,
           std::span<const std::byte> bytes);
  /// Replaces the `__metadata__` map (write it with {"format": "pt"} for transformers).
  void set_metadata(std::map<std::string, std::string> metadata);
  /// Writes the file atomically (temporary name, fsync, rename). Throws ember::Error on failure.
  void write(const std::filesystem::path& path) const;

 private:
  struct Entry {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    std::span<const std::byte> bytes;
  };
  /// Entries in file order and the padded JSON header.
  std::vector<const Entry*> ordered() const;
  std::string header(const std::vector<const Entry*>& order) const;

  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace ember
