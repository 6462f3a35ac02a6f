// Host-side (torch-free) number formats for export and import, vectorised with Eigen:
//   F16   IEEE binary16, round to nearest even, overflow to infinity (numpy astype(float16))
//   BF16  the upper 16 bits of a float32, round to nearest even, NaNs quieted (gguf-py, torch)
//   Q8_0  ggml blocks of 32 values: {f16 d; int8 q[32]}, d = max|x| / 127 and
//         q = round-half-away-from-zero(x * (1/d)) in float32 (gguf-py quants.py), so x ~= q * d
// and the widening conversions back to float32 that import and the tests use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ember::exporting {

inline constexpr int64_t kQ8BlockValues = 32;
inline constexpr int64_t kQ8BlockBytes = 34;

uint16_t float_to_f16_bits(float value);
float f16_bits_to_float(uint16_t bits);
uint16_t float_to_bf16_bits(float value);
float bf16_bits_to_float(uint16_t bits);

/// Little-endian binary16 / bfloat16 bytes of `values` (2 bytes each).
std::vector<std::byte> to_f16_bytes(std::span<const float> values);
std::vector<std::byte> to_bf16_bytes(std::span<const float> values);

/// Q8_0 blocks of `values`; the count must be a multiple of 32 (throws ember::Error otherwise).
std::vector<std::byte> to_q8_0_bytes(std::span<const float> values);

/// Float32 values of F32, F16 or BF16 little-endian bytes (`dtype` is the safetensors name);
/// throws ember::Error for other dtypes or a byte count that is not a whole number of values.
std::vector<float> to_float32(std::span<const std::byte> bytes, const std::string_view dtype);

/// Float32 values of Q8_0 blocks (q * d).
std::vector<float> q8_0_to_float32(std::span<const std::byte> bytes);

}  // namespace ember::exporting
