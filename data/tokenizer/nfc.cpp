// NFC normalization through ICU (see nfc.h).
#include "data/tokenizer/nfc.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>

#include "core/error.h"

namespace ember::data {

std::string nfc_normalize(std::string_view text) {
  bool ascii = true;
  for (char c : text) ascii &= uint8_t(c) < 0x80;
  if (ascii) return std::string(text);
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) fail("cannot load ICU's NFC normalizer: {}", u_errorName(status));
  icu::StringPiece input(text.data(), int32_t(text.size()));
  if (normalizer->isNormalizedUTF8(input, status) && U_SUCCESS(status)) return std::string(text);
  status = U_ZERO_ERROR;
  std::string out;
  out.reserve(text.size());
  icu::StringByteSink<std::string> sink(&out);
  normalizer->normalizeUTF8(0, input, sink, nullptr, status);
  if (U_FAILURE(status)) fail("NFC normalization failed: {}", u_errorName(status));
  return out;
}

}  // namespace ember::data
