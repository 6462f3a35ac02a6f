// CRC-32C (Castagnoli polynomial, as in iSCSI, LevelDB and TFRecord files), computed in software
// from a byte table; incremental or one-shot. Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ember {

/// Continues a CRC-32C over `size` more bytes: crc32c_extend(crc32c(a), b) == crc32c(a + b).
/// Start from 0 for a fresh checksum.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size);

/// CRC-32C of a byte string, e.g. crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::string_view bytes);

/// The masked form stored in TFRecord files (LevelDB's crc32c::Mask): rotating right by 15 bits and
/// adding a constant keeps a CRC of data that itself holds CRCs from being trivially related.
uint32_t crc32c_mask(uint32_t crc);

}  // namespace ember
