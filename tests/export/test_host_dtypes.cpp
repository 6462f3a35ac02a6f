// F16 / BF16 / Q8_0 host conversions against hand-computed values and gguf-py's rounding rules.
#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "export/host_dtypes.h"

namespace ember::exporting {
namespace {

TEST(HostDtypes, F16RoundsToNearestEven) {
  EXPECT_EQ(float_to_f16_bits(1.0f), 0x3c00);
  EXPECT_EQ(float_to_f16_bits(-2.0f), 0xc000);
  EXPECT_EQ(float_to_f16_bits(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_f16_bits(1e6f), 0x7c00);  // overflow to infinity, as numpy
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1.0).
  EXPECT_EQ(float_to_f16_bits(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(float_to_f16_bits(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(f16_bits_to_float(0x3555), 0.333251953125f);
}

TEST(HostDtypes, Bf16RoundsToNearestEvenAndQuietsNans) {
  EXPECT_EQ(float_to_bf16_bits(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bf16_bits(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie, even stays
  EXPECT_EQ(float_to_bf16_bits(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(float_to_bf16_bits(std::bit_cast<float>(0x3f808001u)), 0x3f81);
  EXPECT_EQ(float_to_bf16_bits(std::bit_cast<float>(0x7f800001u)), 0x7fc0);  // signalling NaN quieted
  EXPECT_EQ(bf16_bits_to_float(0x3f80), 1.0f);
}

TEST(HostDtypes, ByteArraysAreLittleEndian) {
  std::vector<float> values = {1.0f, -2.0f};
  auto f16 = to_f16_bytes(values);
  ASSERT_EQ(f16.size(), 4u);
  EXPECT_EQ(f16[0], std::byte{0x00});
  EXPECT_EQ(f16[1], std::byte{0x3c});
  EXPECT_EQ(to_float32(f16, "F16"), values);
  EXPECT_EQ(to_float32(to_bf16_bytes(values), "BF16"), values);
  EXPECT_THROW(to_float32(f16, "I8"), Error);
}

TEST(HostDtypes, Q8BlockMatchesTheReferenceFormula) {
  std::vector<float> values(32);
  for (int i = 0; i < 32; ++i) values[size_t(i)] = float(i - 16) * 0.1f;  // max |x| = 1.6
  values[3] = 0.05f;
  auto bytes = to_q8_0_bytes(values);
  ASSERT_EQ(bytes.size(), 34u);
  const float d = 1.6f / 127.0f;
  const uint16_t d_bits = uint16_t(uint16_t(bytes[0]) | uint16_t(bytes[1]) << 8);
  EXPECT_EQ(d_bits, float_to_f16_bits(d));
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(int8_t(bytes[size_t(2 + i)]), int8_t(std::round(values[size_t(i)] * (1.0f / d)))) << i;
  }
  EXPECT_EQ(int8_t(bytes[2]), -127);  // the largest magnitude maps to -127
}

TEST(HostDtypes, Q8RoundsHalvesAwayFromZeroAndHandlesZeroBlocks) {
  std::vector<float> values(64, 0.0f);
  values[0] = 127.0f;  // d = 1, so x * (1/d) is exact
  values[1] = 2.5f;
  values[2] = -2.5f;
  values[3] = 0.5f;
  auto bytes = to_q8_0_bytes(values);
  EXPECT_EQ(int8_t(bytes[3]), 3);
  EXPECT_EQ(int8_t(bytes[4]), -3);
  EXPECT_EQ(int8_t(bytes[5]), 1);
  for (int i = 0; i < 34; ++i) EXPECT_EQ(bytes[size_t(34 + i)], std::byte{0}) << i;  // all-zero block
  EXPECT_THROW(to_q8_0_bytes(std::vector<float>(33)), Error);
}

TEST(HostDtypes, Q8DequantizesWithinHalfAStepPlusScaleRounding) {
  std::vector<float> values(32 * 8);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(float(i) * 0.37f) * float(1 + i % 5);
  auto restored = q8_0_to_float32(to_q8_0_bytes(values));
  ASSERT_EQ(restored.size(), values.size());
  for (size_t block = 0; block < values.size() / 32; ++block) {
    float amax = 0;
    for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::abs(values[block * 32 + j]));
    const float d = amax / 127.0f;
    const float d16 = f16_bits_to_float(float_to_f16_bits(d));
    for (size_t j = 0; j < 32; ++j) {
      const size_t i = block * 32 + j;
      EXPECT_LE(std::abs(restored[i] - values[i]), 0.5f * d16 + 127.0f * std::abs(d16 - d) + 1e-6f) << i;
    }
  }
}

}  // namespace
}  // namespace ember::exporting
