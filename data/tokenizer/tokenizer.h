// ember::data::Tokenizer: byte-level BPE (GPT-2 / Llama-3 / Qwen2 family) that loads and saves
// Hugging Face tokenizer.json and encodes id for id like the `tokenizers` package.
//
// encode(text): (1) split out added / special tokens (leftmost-longest, on the raw text);
// (2) NFC-normalize the rest when the file asks for it; (3) split it into pieces with the
// pre-tokenizer regex (PCRE2, UTF + UCP); (4) BPE-merge each piece's bytes by rank. Pieces are
// cached per thread. encode() does not add BOS/EOS (a file's post_processor is kept on save but
// not applied); callers append token_to_id("<|eos|>") and friends themselves.
//
// Text must be valid UTF-8: encode() throws ember::Error naming the byte offset otherwise
// (repair_utf8() in byte_level.h replaces bad bytes with U+FFFD first if that is wanted).
//
// decode(ids) concatenates the tokens' bytes (added tokens as their literal content) and then
// replaces every maximal invalid UTF-8 subpart with U+FFFD, as `tokenizers` does; a prefix of a
// multi-byte character therefore decodes to U+FFFD. decode_bytes() returns the raw bytes.
// Ids outside [0, vocab_size()) or with no token throw ember::Error.
//
// A Tokenizer is immutable and cheap to copy (shared state); all const methods are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer/tokenizer_json.h"

namespace ember::data {

class Tokenizer {
 public:
  /// Loads a tokenizer.json. Throws ember::Error (missing / unreadable file) or
  /// ember::UsageError (malformed or unsupported content), naming the file.
  static Tokenizer load(const std::string& path);

  /// Builds from tokenizer.json text; `source` names it in error messages.
  static Tokenizer from_json(std::string_view json_text, const std::string& source);

  /// Builds from a spec, validating it (merges reference vocabulary tokens, ids are unique).
  explicit Tokenizer(TokenizerSpec spec, const std::string& source = "<tokenizer>");

  /// Writes the canonical tokenizer.json atomically.
  void save(const std::string& path) const;

  /// The canonical tokenizer.json text that save() writes.
  const std::string& to_json() const;

  std::vector<int32_t> encode(std::string_view text) const;

  /// Appends the ids of `text` to `out` (no allocation of a new vector).
  void encode_into(std::string_view text, std::vector<int32_t>& out) const;

  /// Encodes every text on `threads` std::threads (<= 0: one per hardware thread).
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string>& texts, int threads) const;

  /// Text of `ids` with invalid UTF-8 replaced by U+FFFD (see the file comment).
  std::string decode(std::span<const int32_t> ids) const;

  /// The raw bytes of `ids`, which may end inside a multi-byte character.
  std::string decode_bytes(std::span<const int32_t> ids) const;

  /// One more than the largest id of the model vocabulary and the added tokens.
  int64_t vocab_size() const;

  /// The id of an added token's content ("<|eos|>") or of a vocabulary entry in its byte-level
  /// spelling ("Ġthe").
  std::optional<int32_t> token_to_id(std::string_view token) const;

  /// The token with this id as written in tokenizer.json; nullopt when there is none.
  std::optional<std::string> id_to_token(int32_t id) const;

  /// Hex SHA-256 of the canonical tokenizer.json (what save() writes).
  std::string sha256() const;

  const TokenizerSpec& spec() const;

 private:
  struct State;
  std::shared_ptr<const State> state_;
};

}  // namespace ember::data
