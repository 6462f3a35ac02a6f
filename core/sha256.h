// SHA-256 (FIPS 180-4) for checkpoint manifests and tokenizer hashes; incremental or one-shot.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ember {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view text) { update(text.data(), text.size()); }
  /// Finishes the hash and returns it as 64 lowercase hex digits; the object is then spent.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

/// Hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view bytes);

/// Hex SHA-256 of a file's contents, streamed. Throws ember::Error naming the file if unreadable.
std::string sha256_file(const std::string& path);

}  // namespace ember
