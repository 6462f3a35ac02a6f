// F16 / BF16 / Q8_0 conversions on the host (see host_dtypes.h).
#include "export/host_dtypes.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <string_view>

#include <Eigen/Core>

#include "core/error.h"

namespace ember::exporting {
namespace {

using FloatArray = Eigen::Array<float, Eigen::Dynamic, 1>;
using ConstFloatMap = Eigen::Map<const FloatArray>;

std::vector<std::byte> bytes_of_bits(const Eigen::Array<uint16_t, Eigen::Dynamic, 1>& bits) {
  std::vector<std::byte> bytes(size_t(bits.size()) * 2);
  for (Eigen::Index i = 0; i < bits.size(); ++i) {  // explicit little-endian order
    bytes[size_t(2 * i)] = std::byte(bits[i] & 0xff);
    bytes[size_t(2 * i + 1)] = std::byte(bits[i] >> 8);
  }
  return bytes;
}

uint16_t read_u16(const std::byte* p) { return uint16_t(uint16_t(p[0]) | uint16_t(uint16_t(p[1]) << 8)); }

}  // namespace

uint16_t float_to_f16_bits(float value) { return Eigen::numext::bit_cast<uint16_t>(Eigen::half(value)); }

float f16_bits_to_float(uint16_t bits) { return float(Eigen::numext::bit_cast<Eigen::half>(bits)); }

uint16_t float_to_bf16_bits(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t(((bits & 0xffff0000u) | 0x00400000u) >> 16);
  const uint64_t rounded = (uint64_t(bits) + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  return uint16_t(rounded);
}

float bf16_bits_to_float(uint16_t bits) { return std::bit_cast<float>(uint32_t(bits) << 16); }

std::vector<std::byte> to_f16_bytes(std::span<const float> values) {
  ConstFloatMap source(values.data(), Eigen::Index(values.size()));
  Eigen::Array<uint16_t, Eigen::Dynamic, 1> bits = source.unaryExpr([](float x) { return float_to_f16_bits(x); });
  return bytes_of_bits(bits);
}

std::vector<std::byte> to_bf16_bytes(std::span<const float> values) {
  ConstFloatMap source(values.data(), Eigen::Index(values.size()));
  Eigen::Array<uint16_t, Eigen::Dynamic, 1> bits = source.unaryExpr([](float x) { return float_to_bf16_bits(x); });
  return bytes_of_bits(bits);
}

std::vector<std::byte> to_q8_0_bytes(std::span<const float> values) {
  if (values.size() % size_t(kQ8BlockValues) != 0) {
    fail("Q8_0 needs a multiple of {} values, got {}", kQ8BlockValues, values.size());
  }
  const Eigen::Index blocks = Eigen::Index(values.size()) / kQ8BlockValues;
  // One column per block: column b holds values [32 b, 32 b + 32).
  Eigen::Map<const Eigen::Array<float, kQ8BlockValues, Eigen::Dynamic>> x(values.data(), kQ8BlockValues, blocks);
  const Eigen::Array<float, 1, Eigen::Dynamic> scale = x.abs().colwise().maxCoeff() / 127.0f;
  const Eigen::Array<float, 1, Eigen::Dynamic> inverse = (scale == 0.0f).select(0.0f, 1.0f / scale);
  // std::round rounds halves away from zero, like gguf-py's np_roundf.
  const Eigen::Array<float, kQ8BlockValues, Eigen::Dynamic> quantized =
      (x.rowwise() * inverse).unaryExpr([](float v) { return std::round(v); });

  std::vector<std::byte> bytes(size_t(blocks) * size_t(kQ8BlockBytes));
  for (Eigen::Index b = 0; b < blocks; ++b) {
    std::byte* block = bytes.data() + size_t(b) * size_t(kQ8BlockBytes);
    const uint16_t d = float_to_f16_bits(scale[b]);
    block[0] = std::byte(d & 0xff);
    block[1] = std::byte(d >> 8);
    for (int64_t j = 0; j < kQ8BlockValues; ++j) block[2 + j] = std::byte(int8_t(quantized(j, b)));
  }
  return bytes;
}

std::vector<float> to_float32(std::span<const std::byte> bytes, const std::string_view dtype) {
  const size_t width = dtype == "F32" ? 4 : (dtype == "F16" || dtype == "BF16") ? 2 : 0;
  if (width == 0) fail("cannot convert dtype {} to float32 (supported: F32, F16, BF16)", dtype);
  if (bytes.size() % width != 0) fail("{} bytes are not a whole number of {} values", bytes.size(), dtype);
  std::vector<float> values(bytes.size() / width);
  if (width == 4) {
    std::memcpy(values.data(), bytes.data(), bytes.size());
    return values;
  }
  const bool brain = dtype == "BF16";
  for (size_t i = 0; i < values.size(); ++i) {
    const uint16_t bits = read_u16(bytes.data() + 2 * i);
    values[i] = brain ? bf16_bits_to_float(bits) : f16_bits_to_float(bits);
  }
  return values;
}

std::vector<float> q8_0_to_float32(std::span<const std::byte> bytes) {
  if (bytes.size() % size_t(kQ8BlockBytes) != 0) fail("{} bytes are not whole Q8_0 blocks", bytes.size());
  const size_t blocks = bytes.size() / size_t(kQ8BlockBytes);
  std::vector<float> values(blocks * size_t(kQ8BlockValues));
  for (size_t b = 0; b < blocks; ++b) {
    const std::byte* block = bytes.data() + b * size_t(kQ8BlockBytes);
    const float d = f16_bits_to_float(read_u16(block));
    for (int64_t j = 0; j < kQ8BlockValues; ++j) {
      values[b * size_t(kQ8BlockValues) + size_t(j)] = float(int8_t(block[2 + j])) * d;
    }
  }
  return values;
}

}  // namespace ember::exporting
