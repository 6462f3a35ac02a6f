// safetensors: round trips, layout rules (padding, alignment, no holes), hostile files rejected with
// messages naming the file and tensor, and the samples exchanged with Python's `safetensors`
// (tests/interop/test_safetensors_interop.py drives the SafetensorsInterop cases).
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "core/safetensors.h"

namespace fs = std::filesystem;
using namespace ember;

namespace {

fs::path scratch_dir() {
  auto dir = fs::temp_directory_path() / ("ember_safetensors_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

template <typename T>
std::span<const std::byte> bytes_of(const std::vector<T>& values) {
  return std::as_bytes(std::span(values));
}

template <typename T>
std::vector<T> values_of(const TensorView& view) {
  std::vector<T> values(view.nbytes / sizeof(T));
  std::memcpy(values.data(), view.data, view.nbytes);
  return values;
}

/// A raw file: 8-byte little-endian length, the header text, then `data`.
fs::path write_raw(const std::string& name, const std::string& header, const std::string& data,
                   std::optional<uint64_t> declared_length = std::nullopt) {
  uint64_t length = declared_length.value_or(header.size());
  std::string contents;
  for (int i = 0; i < 8; ++i) contents.push_back(char((length >> (8 * i)) & 0xff));
  contents += header + data;
  auto path = scratch_dir() / name;
  write_file_atomic(path, contents);
  return path;
}

/// Expects SafetensorsFile::open to throw an ember::Error whose message contains every fragment.
void expect_rejected(const fs::path& path, const std::vector<std::string>& fragments) {
  try {
    SafetensorsFile::open(path);
    FAIL() << "accepted " << path;
  } catch (const Error& e) {
    std::string message = e.what();
    for (const auto& fragment : fragments) EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

// The sample both sides of the interop test agree on.
const std::vector<float> kSampleF32 = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 2.5f};
const std::vector<uint16_t> kSampleBF16 = {0x3f80, 0xc000, 0x4049};  // 1.0, -2.0, 3.140625
const std::vector<int64_t> kSampleI64 = {-3, 0, 1ll << 40};
const std::vector<uint8_t> kSampleBool = {1, 0, 1, 1};
const std::vector<double> kSampleScalar = {2.25};
const std::vector<uint16_t> kSampleEmpty = {};

void write_sample(const fs::path& path) {
  SafetensorsWriter writer;
  writer.add("model.layers.0.weight", "F32", {2, 3}, bytes_of(kSampleF32));
  writer.add("bf16", "BF16", {3}, bytes_of(kSampleBF16));
  writer.add("ids", "I64", {3}, bytes_of(kSampleI64));
  writer.add("mask", "BOOL", {2, 2}, bytes_of(kSampleBool));
  writer.add("scalar", "F64", {}, bytes_of(kSampleScalar));
  writer.add("empty", "F16", {0, 4}, bytes_of(kSampleEmpty));
  writer.set_metadata({{"format", "pt"}, {"step", "7"}});
  writer.write(path);
}

}  // namespace

TEST(Safetensors, RoundTripKeepsDtypesShapesBytesAndMetadata) {
  auto path = scratch_dir() / "round_trip.safetensors";
  write_sample(path);
  auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file.names().size(), 6u);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.metadata().at("step"), "7");

  const auto& weight = file.get("model.layers.0.weight");
  EXPECT_EQ(weight.dtype, "F32");
  EXPECT_EQ(weight.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values_of<float>(weight), kSampleF32);
  EXPECT_EQ(values_of<uint16_t>(file.get("bf16")), kSampleBF16);
  EXPECT_EQ(values_of<int64_t>(file.get("ids")), kSampleI64);
  EXPECT_EQ(values_of<uint8_t>(file.get("mask")), kSampleBool);
  EXPECT_EQ(file.get("scalar").shape, std::vector<int64_t>{});
  EXPECT_EQ(file.get("scalar").numel(), 1);
  EXPECT_EQ(values_of<double>(file.get("scalar")), kSampleScalar);
  EXPECT_EQ(file.get("empty").nbytes, 0u);
  EXPECT_EQ(file.get("empty").numel(), 0);
  EXPECT_TRUE(file.contains("ids"));
  EXPECT_FALSE(file.contains("missing"));
}

TEST(Safetensors, HeaderIsPaddedAndTensorsAreAlignedAndContiguous) {
  auto path = scratch_dir() / "layout.safetensors";
  write_sample(path);
  std::string raw = read_file(path);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint8_t(raw[i]);
  EXPECT_EQ(header_len % 8, 0u);
  EXPECT_EQ(raw[8], '{');

  auto file = SafetensorsFile::open(path);
  const std::byte* base = file.get(file.names().front()).data;
  size_t expected_offset = 0;
  for (const auto& name : file.names()) {
    const auto& view = file.get(name);
    EXPECT_EQ(size_t(view.data - base), expected_offset) << name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.data) % safetensors_dtype_size(view.dtype), 0u) << name;
    expected_offset += view.nbytes;
  }
  EXPECT_EQ(8 + header_len + expected_offset, raw.size());
}

TEST(Safetensors, EmptyFileWithoutTensorsRoundTrips) {
  auto path = scratch_dir() / "empty.safetensors";
  SafetensorsWriter().write(path);
  auto file = SafetensorsFile::open(path);
  EXPECT_TRUE(file.names().empty());
  EXPECT_TRUE(file.metadata().empty());
}

TEST(Safetensors, WriterRejectsBadTensors) {
  SafetensorsWriter writer;
  std::vector<float> four(4);
  writer.add("a", "F32", {4}, bytes_of(four));
  EXPECT_THROW(writer.add("a", "F32", {4}, bytes_of(four)), Error);
  EXPECT_THROW(writer.add("b", "F32", {3}, bytes_of(four)), Error);
  EXPECT_THROW(writer.add("c", "F8", {4}, bytes_of(four)), Error);
  EXPECT_THROW(writer.add("d", "F32", {-4}, bytes_of(four)), Error);
  EXPECT_THROW(writer.add("__metadata__", "F32", {4}, bytes_of(four)), Error);
}

TEST(Safetensors, DtypeTable) {
  EXPECT_EQ(safetensors_dtype_size("BF16"), 2u);
  EXPECT_EQ(safetensors_dtype_size("U64"), 8u);
  EXPECT_EQ(safetensors_dtype_size("BOOL"), 1u);
  EXPECT_TRUE(safetensors_dtype_known("I16"));
  EXPECT_FALSE(safetensors_dtype_known("f32"));
  EXPECT_THROW(safetensors_dtype_size("C64"), Error);
}

TEST(Safetensors, MissingTensorNamesFileAndTensor) {
  auto path = scratch_dir() / "lookup.safetensors";
  write_sample(path);
  auto file = SafetensorsFile::open(path);
  try {
    file.get("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lookup.safetensors"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
  }
}

TEST(SafetensorsHostile, TruncatedFiles) {
  auto path = scratch_dir() / "full.safetensors";
  write_sample(path);
  std::string raw = read_file(path);
  auto cut = scratch_dir() / "cut.safetensors";
  write_file_atomic(cut, raw.substr(0, raw.size() - 3));
  expect_rejected(cut, {"cut.safetensors", "past"});
  write_file_atomic(cut, raw.substr(0, 5));
  expect_rejected(cut, {"cut.safetensors", "too small"});
  write_file_atomic(cut, raw.substr(0, 40));
  expect_rejected(cut, {"cut.safetensors", "header length"});
}

TEST(SafetensorsHostile, BadHeaderLengths) {
  std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  expect_rejected(write_raw("long.safetensors", header, "x", header.size() + 100), {"long.safetensors", "header length"});
  expect_rejected(write_raw("huge.safetensors", header, "x", uint64_t(1) << 62), {"huge.safetensors", "limit"});
  expect_rejected(write_raw("short.safetensors", header, "x", header.size() - 5), {"short.safetensors"});
  expect_rejected(write_raw("zero.safetensors", header, "x", 0), {"zero.safetensors"});
}

TEST(SafetensorsHostile, MalformedJson) {
  expect_rejected(write_raw("json.safetensors", "{\"a\": [1, 2", ""), {"json.safetensors", "JSON"});
  expect_rejected(write_raw("array.safetensors", "[1, 2]  ", ""), {"array.safetensors"});
  expect_rejected(write_raw("nested.safetensors", R"({"a": 3})", ""), {"nested.safetensors", "tensor 'a'"});
  expect_rejected(write_raw("fields.safetensors", R"({"a": {"dtype": "F32"}})", ""), {"fields.safetensors", "'a'"});
}

TEST(SafetensorsHostile, UnknownDtype) {
  std::string header = R"({"w":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}})";
  expect_rejected(write_raw("dtype.safetensors", header, "x"), {"dtype.safetensors", "tensor 'w'", "dtype"});
}

TEST(SafetensorsHostile, OverlappingOffsetsAndHoles) {
  std::string overlap =
      R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})";
  expect_rejected(write_raw("overlap.safetensors", overlap, "123456"), {"overlap.safetensors", "'b'", "overlap"});
  std::string hole =
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})";
  expect_rejected(write_raw("hole.safetensors", hole, "123456"), {"hole.safetensors", "'b'", "hole"});
  std::string late = R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})";
  expect_rejected(write_raw("late.safetensors", late, "123"), {"late.safetensors", "'a'"});
  std::string reversed = R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}})";
  expect_rejected(write_raw("reversed.safetensors", reversed, "12"), {"reversed.safetensors", "'a'"});
  std::string past = R"({"a":{"dtype":"U8","shape":[9],"data_offsets":[0,9]}})";
  expect_rejected(write_raw("past.safetensors", past, "12"), {"past.safetensors", "'a'", "past"});
}

TEST(SafetensorsHostile, TrailingBytesAreRejected) {
  std::string header = R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})";
  expect_rejected(write_raw("trailing.safetensors", header, "1234"), {"trailing.safetensors", "cover"});
}

TEST(SafetensorsHostile, ShapeMustMatchByteSpan) {
  std::string header = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})";
  expect_rejected(write_raw("span.safetensors", header, std::string(12, 'x')), {"span.safetensors", "'w'", "16"});
  std::string negative = R"({"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})";
  expect_rejected(write_raw("negative.safetensors", negative, "x"), {"negative.safetensors", "'w'"});
  std::string fractional = R"({"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})";
  expect_rejected(write_raw("fraction.safetensors", fractional, "x"), {"fraction.safetensors", "'w'"});
  std::string overflow =
      R"({"w":{"dtype":"F64","shape":[281474976710655,281474976710655],"data_offsets":[0,8]}})";
  expect_rejected(write_raw("overflow.safetensors", overflow, std::string(8, 'x')), {"overflow.safetensors", "'w'"});
}

TEST(SafetensorsHostile, DuplicateNamesAndBadMetadata) {
  std::string duplicate =
      R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})";
  expect_rejected(write_raw("dup.safetensors", duplicate, "12"), {"dup.safetensors", "duplicate", "'a'"});
  std::string metadata = R"({"__metadata__":{"format":1}})";
  expect_rejected(write_raw("meta.safetensors", metadata, ""), {"meta.safetensors", "__metadata__", "format"});
}

// Driven by tests/interop/test_safetensors_interop.py: writes the sample where it asks (Python's
// `safetensors` then loads it), and reads the file Python wrote.
TEST(SafetensorsInterop, WriteSample) {
  const char* out = std::getenv("EMBER_SAFETENSORS_SAMPLE_OUT");
  auto path = out ? fs::path(out) : scratch_dir() / "sample.safetensors";
  write_sample(path);
  EXPECT_NO_THROW(SafetensorsFile::open(path));
}

TEST(SafetensorsInterop, ReadPythonSample) {
  const char* in = std::getenv("EMBER_SAFETENSORS_PYTHON_SAMPLE");
  if (!in) GTEST_SKIP() << "run by tests/interop/test_safetensors_interop.py";
  auto file = SafetensorsFile::open(in);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(values_of<float>(file.get("model.layers.0.weight")), kSampleF32);
  EXPECT_EQ(file.get("model.layers.0.weight").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values_of<uint16_t>(file.get("bf16")), kSampleBF16);
  EXPECT_EQ(values_of<int64_t>(file.get("ids")), kSampleI64);
  EXPECT_EQ(values_of<uint8_t>(file.get("mask")), kSampleBool);
  EXPECT_EQ(file.get("mask").dtype, "BOOL");
  EXPECT_EQ(values_of<double>(file.get("scalar")), kSampleScalar);
  EXPECT_EQ(file.get("empty").shape, (std::vector<int64_t>{0, 4}));
}
