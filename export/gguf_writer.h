// A GGUF v3 file writer (ggml docs/gguf.md), with the checks ggml's reader enforces built in:
//
//   "GGUF" u32 version=3, u64 tensor_count, u64 kv_count
//   kv_count x  { string key, u32 value_type, value }          strings: u64 length + bytes
//   tensor_count x { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset }
//   zero padding to `alignment`, then each tensor's bytes, each padded with zeros to `alignment`
//
// Dimensions are given in PyTorch order ([out, in]) and written reversed (ne[0] fastest), as
// gguf-py does, so the bytes stay row-major. Offsets are sequential in tensor-info order. Keys and
// tensor names must be unique, names shorter than 64 bytes, and ne[0] a multiple of the type's
// block size. Tensor bytes are produced one tensor at a time while writing, so a model is never
// held twice in memory. The file is written under a temporary name and renamed when complete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace ember::exporting {

/// ggml tensor types this writer produces.
enum class GgmlType : uint32_t { kF32 = 0, kF16 = 1, kQ8_0 = 8, kBF16 = 30 };

/// Values per block and bytes per block of a type.
int64_t ggml_block_values(GgmlType type);
int64_t ggml_block_bytes(GgmlType type);
/// Bytes of a tensor of `numel` values (a multiple of the block size).
int64_t ggml_tensor_bytes(GgmlType type, int64_t numel);

/// GGUF metadata value types.
enum class GgufValueType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6,
  kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};

class GgufWriter {
 public:
  using Producer = std::function<std::vector<std::byte>()>;

  /// `alignment` must be a power of two and a multiple of 8 (written as general.alignment when it
  /// is not the default 32).
  explicit GgufWriter(uint32_t alignment = 32);

  void add_uint32(const std::string& key, uint32_t value);
  void add_int32(const std::string& key, int32_t value);
  void add_float32(const std::string& key, float value);
  void add_bool(const std::string& key, bool value);
  void add_string(const std::string& key, const std::string& value);
  void add_string_array(const std::string& key, const std::vector<std::string>& values);
  void add_int32_array(const std::string& key, const std::vector<int32_t>& values);

  /// Declares a tensor; `produce` is called once during write() and must return exactly
  /// ggml_tensor_bytes(type, numel) bytes. Throws ember::Error for a duplicate or too long name,
  /// more than 4 dimensions, or a row length that is not a multiple of the block size.
  void add_tensor(const std::string& name, const std::vector<int64_t>& torch_shape, GgmlType type, Producer produce);

  /// Writes the file atomically. Throws ember::Error naming the file on failure.
  void write(const std::filesystem::path& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> ne;  ///< ggml order
    GgmlType type;
    uint64_t offset;
    uint64_t nbytes;
    Producer produce;
  };
  void begin_key(const std::string& key, GgufValueType type);

  uint32_t alignment_;
  std::vector<std::string> keys_;
  std::string metadata_;  ///< serialized key/value pairs
  std::vector<Tensor> tensors_;
  uint64_t data_bytes_ = 0;
};

}  // namespace ember::exporting
