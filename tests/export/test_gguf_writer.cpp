// The GGUF writer: header, typed metadata, tensor infos with reversed dims and sequential aligned
// offsets, padded data, and the checks ggml's reader would otherwise fail on.
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/files.h"
#include "export/gguf_writer.h"

namespace ember::exporting {
namespace {

namespace fs = std::filesystem;

/// Reads little-endian values from a byte string, front to back.
struct Cursor {
  const std::string& bytes;
  size_t at = 0;
  template <typename T>
  T next() {
    T value;
    std::memcpy(&value, bytes.data() + at, sizeof(T));
    at += sizeof(T);
    return value;
  }
  std::string text() {
    const auto size = next<uint64_t>();
    std::string out = bytes.substr(at, size);
    at += size;
    return out;
  }
};

std::vector<std::byte> float_bytes(const std::vector<float>& values) {
  std::vector<std::byte> out(values.size() * 4);
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

fs::path scratch_file(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("ember-test-gguf-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

TEST(GgufWriter, WritesHeaderMetadataInfosAndAlignedData) {
  GgufWriter writer;
  writer.add_string("general.architecture", "llama");
  writer.add_uint32("llama.block_count", 2);
  writer.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  writer.add_bool("tokenizer.ggml.add_bos_token", true);
  writer.add_string_array("tokenizer.ggml.tokens", {"a", "bc"});
  writer.add_int32_array("tokenizer.ggml.token_type", {1, 3});
  writer.add_tensor("norm.weight", {3}, GgmlType::kF32, [] { return float_bytes({1, 2, 3}); });
  writer.add_tensor("w.weight", {2, 4}, GgmlType::kF32, [] { return float_bytes({0, 1, 2, 3, 4, 5, 6, 7}); });
  const fs::path path = scratch_file("basic.gguf");
  writer.write(path);

  const std::string bytes = read_file(path);
  Cursor in{bytes};
  EXPECT_EQ(bytes.substr(0, 4), "GGUF");
  in.at = 4;
  EXPECT_EQ(in.next<uint32_t>(), 3u);
  EXPECT_EQ(in.next<uint64_t>(), 2u);  // tensors
  EXPECT_EQ(in.next<uint64_t>(), 6u);  // keys
  EXPECT_EQ(in.text(), "general.architecture");
  EXPECT_EQ(in.next<uint32_t>(), uint32_t(GgufValueType::kString));
  EXPECT_EQ(in.text(), "llama");
  EXPECT_EQ(in.text(), "llama.block_count");
  EXPECT_EQ(in.next<uint32_t>(), uint32_t(GgufValueType::kUint32));
  EXPECT_EQ(in.next<uint32_t>(), 2u);
  EXPECT_EQ(in.text(), "llama.attention.layer_norm_rms_epsilon");
  EXPECT_EQ(in.next<uint32_t>(), uint32_t(GgufValueType::kFloat32));
  EXPECT_EQ(in.next<float>(), 1e-5f);
  EXPECT_EQ(in.text(), "tokenizer.ggml.add_bos_token");
  EXPECT_EQ(in.next<uint32_t>(), uint32_t(GgufValueType::kBool));
  EXPECT_EQ(in.next<uint8_t>(), 1u);
  EXPECT_EQ(in.text(), "tokenizer.ggml.tokens");
  EXPECT_EQ(in.next<uint32_t>(), uint32_t(GgufValueType::kArray));
  EXPECT_EQ(in.next<uint32_t>(), uint32_t(GgufValueType::kString));
  EXPECT_EQ(in.next<uint64_t>(), 2u);
  EXPECT_EQ(in.text(), "a");
  EXPECT_EQ(in.text(), "bc");
  EXPECT_EQ(in.text(), "tokenizer.ggml.token_type");
  EXPECT_EQ(in.next<uint32_t>(), uint32_t(GgufValueType::kArray));
  EXPECT_EQ(in.next<uint32_t>(), uint32_t(GgufValueType::kInt32));
  EXPECT_EQ(in.next<uint64_t>(), 2u);
  EXPECT_EQ(in.next<int32_t>(), 1);
  EXPECT_EQ(in.next<int32_t>(), 3);

  EXPECT_EQ(in.text(), "norm.weight");
  EXPECT_EQ(in.next<uint32_t>(), 1u);
  EXPECT_EQ(in.next<uint64_t>(), 3u);
  EXPECT_EQ(in.next<uint32_t>(), uint32_t(GgmlType::kF32));
  EXPECT_EQ(in.next<uint64_t>(), 0u);
  EXPECT_EQ(in.text(), "w.weight");
  EXPECT_EQ(in.next<uint32_t>(), 2u);
  EXPECT_EQ(in.next<uint64_t>(), 4u);  // ne[0]: the PyTorch shape reversed
  EXPECT_EQ(in.next<uint64_t>(), 2u);
  EXPECT_EQ(in.next<uint32_t>(), uint32_t(GgmlType::kF32));
  EXPECT_EQ(in.next<uint64_t>(), 32u);  // 12 bytes padded to 32

  const size_t data_start = (in.at + 31) / 32 * 32;
  for (size_t i = in.at; i < data_start; ++i) EXPECT_EQ(bytes[i], '\0');
  Cursor data{bytes, data_start};
  EXPECT_EQ(data.next<float>(), 1.0f);
  data.at = data_start + 32;
  for (int i = 0; i < 8; ++i) EXPECT_EQ(data.next<float>(), float(i));
  EXPECT_EQ(bytes.size(), data_start + 64);  // the last tensor is padded too
  fs::remove_all(path.parent_path());
}

TEST(GgufWriter, RejectsWhatGgmlRejects) {
  GgufWriter writer;
  writer.add_uint32("a.b", 1);
  EXPECT_THROW(writer.add_uint32("a.b", 2), Error);
  auto none = [] { return std::vector<std::byte>{}; };
  EXPECT_THROW(writer.add_tensor(std::string(64, 'x'), {4}, GgmlType::kF32, none), Error);
  EXPECT_NO_THROW(writer.add_tensor(std::string(63, 'x'), {4}, GgmlType::kF32, none));
  EXPECT_THROW(writer.add_tensor(std::string(63, 'x'), {4}, GgmlType::kF32, none), Error);
  EXPECT_THROW(writer.add_tensor("q", {2, 48}, GgmlType::kQ8_0, none), Error);  // 48 % 32 != 0
  EXPECT_NO_THROW(writer.add_tensor("q8", {2, 64}, GgmlType::kQ8_0, none));
  EXPECT_THROW(GgufWriter(12), Error);
  EXPECT_EQ(ggml_tensor_bytes(GgmlType::kQ8_0, 128), 4 * 34);
}

TEST(GgufWriter, WrongProducerSizeLeavesNoFile) {
  GgufWriter writer;
  writer.add_tensor("t", {4}, GgmlType::kF32, [] { return std::vector<std::byte>(3); });
  const fs::path path = scratch_file("bad.gguf");
  EXPECT_THROW(writer.write(path), Error);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_empty(path.parent_path()));
  fs::remove_all(path.parent_path());
}

}  // namespace
}  // namespace ember::exporting
