// Byte-level helpers for the GPT-2 family of BPE tokenizers: the reversible byte <-> printable
// code point mapping that tokenizer.json vocabularies are written in, and UTF-8 validation and
// lossy repair (invalid sequences become U+FFFD, one per maximal invalid subpart, as Rust's
// String::from_utf8_lossy and Python's errors="replace" do).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ember::data {

/// The code point that byte `b` is written as in a byte-level vocabulary: printable Latin-1
/// bytes map to themselves, the other 68 bytes to U+0100 onwards, in byte order.
char32_t byte_to_code_point(uint8_t b);

/// The UTF-8 spelling of byte_to_code_point(b) for every byte (e.g. ' ' -> "Ġ").
const std::array<std::string, 256>& byte_level_alphabet();

/// Maps raw bytes to their byte-level spelling ("hello world" -> "helloĠworld").
std::string bytes_to_byte_level(std::string_view bytes);

/// Maps a byte-level spelling back to raw bytes; nullopt when a code point is not one of the
/// 256 byte symbols (or the input is not valid UTF-8).
std::optional<std::string> byte_level_to_bytes(std::string_view token);

/// Appends the UTF-8 encoding of a code point.
void append_utf8(std::string& out, char32_t code_point);

/// Byte offset of the first invalid UTF-8 sequence, or nullopt when `text` is valid UTF-8
/// (no overlongs, no surrogates, nothing above U+10FFFF).
std::optional<size_t> find_invalid_utf8(std::string_view text);

/// `text` with each maximal invalid UTF-8 subpart replaced by U+FFFD; valid input is unchanged.
std::string repair_utf8(std::string_view text);

}  // namespace ember::data
