// libFuzzer target: Tokenizer::from_json on arbitrary text, then encode / decode of a fixed
// string (ids must be in range) and a walk over every id. Refusals must be ember::Error
// (UsageError for bad content).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "data/tokenizer/tokenizer.h"

namespace {

constexpr std::string_view kSample = "Hello, world! 1234 don't  stop\n\t<|eos|> h\xC3\xA9llo \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80";
constexpr int64_t kMaxIdsWalked = 1 << 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto tokenizer = ember::data::Tokenizer::from_json(text, "fuzz-input");
    const std::vector<int32_t> ids = tokenizer.encode(kSample);
    for (int32_t id : ids) {
      if (id < 0 || id >= tokenizer.vocab_size()) std::abort();
    }
    (void)tokenizer.decode_bytes(ids);  // not always kSample: bytes without a token are dropped, as in HF
    (void)tokenizer.decode(ids);
    for (int64_t id = 0; id < std::min(tokenizer.vocab_size(), kMaxIdsWalked); ++id) {
      if (auto token = tokenizer.id_to_token(int32_t(id))) (void)tokenizer.token_to_id(*token);
    }
    (void)ember::data::Tokenizer::from_json(tokenizer.to_json(), "fuzz-input (saved)");
  } catch (const ember::Error&) {
  }
  return 0;
}
