// Unicode NFC normalization for tokenizer.json files whose normalizer is NFC (Qwen2 and others),
// backed by ICU's Normalizer2 (Debian libicu-dev), applied to UTF-8 without a UTF-16 round trip.
#pragma once

#include <string>
#include <string_view>

namespace ember::data {

/// `text` in Normalization Form C. `text` must be valid UTF-8. ASCII input is returned unchanged
/// without calling ICU. Throws ember::Error if ICU fails.
std::string nfc_normalize(std::string_view text);

}  // namespace ember::data
