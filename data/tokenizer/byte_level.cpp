// Byte <-> code point mapping of byte-level BPE and UTF-8 validation / repair (see byte_level.h).
#include "data/tokenizer/byte_level.h"

#include <unordered_map>

namespace ember::data {
namespace {

bool is_printable_byte(uint8_t b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; }

struct ByteLevelTables {
  std::array<char32_t, 256> code_points{};
  std::array<std::string, 256> spellings;
  std::unordered_map<char32_t, uint8_t> bytes_by_code_point;

  ByteLevelTables() {
    char32_t next_extra = 256;
    for (int b = 0; b < 256; ++b) {
      code_points[b] = is_printable_byte(uint8_t(b)) ? char32_t(b) : next_extra++;
      append_utf8(spellings[b], code_points[b]);
      bytes_by_code_point[code_points[b]] = uint8_t(b);
    }
  }
};

const ByteLevelTables& tables() {
  static const ByteLevelTables instance;
  return instance;
}

/// Length of the valid UTF-8 sequence starting at `i`, or the length of its maximal invalid
/// subpart negated (at least 1 byte) when it is invalid.
int utf8_sequence_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return uint8_t(text[k]); };
  uint8_t lead = byte(i);
  if (lead < 0x80) return 1;
  int needed;
  uint8_t second_low = 0x80, second_high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    needed = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    needed = 2;
    if (lead == 0xE0) second_low = 0xA0;
    if (lead == 0xED) second_high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    needed = 3;
    if (lead == 0xF0) second_low = 0x90;
    if (lead == 0xF4) second_high = 0x8F;
  } else {
    return -1;
  }
  for (int k = 1; k <= needed; ++k) {
    if (i + k >= text.size()) return -k;
    uint8_t low = k == 1 ? second_low : 0x80, high = k == 1 ? second_high : 0xBF;
    if (byte(i + k) < low || byte(i + k) > high) return -k;
  }
  return needed + 1;
}

}  // namespace

char32_t byte_to_code_point(uint8_t b) { return tables().code_points[b]; }

const std::array<std::string, 256>& byte_level_alphabet() { return tables().spellings; }

std::string bytes_to_byte_level(std::string_view bytes) {
  const auto& spellings = tables().spellings;
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += spellings[uint8_t(c)];
  return out;
}

std::optional<std::string> byte_level_to_bytes(std::string_view token) {
  const auto& map = tables().bytes_by_code_point;
  std::string out;
  size_t i = 0;
  while (i < token.size()) {
    int length = utf8_sequence_length(token, i);
    if (length < 0) return std::nullopt;
    char32_t cp = uint8_t(token[i]);
    if (length > 1) {
      cp &= (0xFFu >> (length + 1));
      for (int k = 1; k < length; ++k) cp = (cp << 6) | (uint8_t(token[i + k]) & 0x3F);
    }
    auto it = map.find(cp);
    if (it == map.end()) return std::nullopt;
    out += char(it->second);
    i += size_t(length);
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

std::optional<size_t> find_invalid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (uint8_t(text[i]) < 0x80) {
      ++i;
      continue;
    }
    int length = utf8_sequence_length(text, i);
    if (length < 0) return i;
    i += size_t(length);
  }
  return std::nullopt;
}

std::string repair_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    int length = utf8_sequence_length(text, i);
    if (length > 0) {
      out.append(text.substr(i, size_t(length)));
      i += size_t(length);
    } else {
      out += "\xEF\xBF\xBD";
      i += size_t(-length);
    }
  }
  return out;
}

}  // namespace ember::data
