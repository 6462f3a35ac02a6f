// CRC-32C against published vectors (the check value and RFC 3720 iSCSI test patterns), the
// incremental form, and the TFRecord masking cross-checked with TensorBoard's own implementation.
#include <string>

#include <gtest/gtest.h>

#include "core/crc32c.h"

using namespace ember;

namespace {

std::string bytes_from(int first, int step, int count) {
  std::string bytes;
  for (int i = 0; i < count; ++i) bytes.push_back(static_cast<char>(first + step * i));
  return bytes;
}

}  // namespace

TEST(Crc32c, CheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(Crc32c, Rfc3720Vectors) {
  EXPECT_EQ(crc32c(std::string(32, '\x00')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  EXPECT_EQ(crc32c(bytes_from(0, 1, 32)), 0x46DD794Eu);
  EXPECT_EQ(crc32c(bytes_from(31, -1, 32)), 0x113FDB5Cu);
}

TEST(Crc32c, IncrementalEqualsOneShot) {
  std::string text = bytes_from(7, 13, 1000);
  uint32_t crc = 0;
  for (size_t i = 0; i < text.size(); i += 37) {
    std::string_view piece = std::string_view(text).substr(i, 37);
    crc = crc32c_extend(crc, piece.data(), piece.size());
  }
  EXPECT_EQ(crc, crc32c(text));
}

TEST(Crc32c, MaskMatchesTensorBoard) {
  // Values from tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c.
  EXPECT_EQ(crc32c_mask(crc32c("123456789")), 0xC78AB0E5u);
  EXPECT_EQ(crc32c_mask(crc32c("")), 0xA282EAD8u);
  EXPECT_EQ(crc32c_mask(crc32c(std::string(8, '\x00'))), 0x07980329u);
}
