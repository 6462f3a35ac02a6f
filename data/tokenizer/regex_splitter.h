// Regex pre-tokenization with PCRE2 (UTF + UCP, JIT-compiled): splits text into the pieces that
// BPE merges within, the way a tokenizer.json `Split` pre-tokenizer with behavior "Isolated"
// does (matches and the gaps between them both become pieces; empty matches are skipped).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace ember::data {

/// The GPT-4 / Llama-3 split pattern (contractions, letter runs, digit groups of 1-3, ...).
inline constexpr std::string_view kGpt4SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

/// The Qwen2 split pattern: the GPT-4 one with single digits (\p{N}) instead of groups of 1-3, so
/// every number is spelled digit by digit and arithmetic works on digits, not on memorised
/// multi-digit tokens. llama.cpp knows it as pre-tokenizer "qwen2".
inline constexpr std::string_view kQwen2SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

/// The GPT-2 pattern that a ByteLevel pre-tokenizer with use_regex=true applies.
inline constexpr std::string_view kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

/// `pattern` with \s / \S replaced by \p{White_Space} / \P{White_Space} (escaped backslashes
/// are left alone), so PCRE2 matches whitespace as Oniguruma does.
std::string oniguruma_whitespace_to_pcre2(std::string_view pattern);

class RegexSplitter {
 public:
  /// Compiles `pattern` (after oniguruma_whitespace_to_pcre2); throws ember::Error with PCRE2's message and offset if it is invalid.
  explicit RegexSplitter(std::string pattern);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  const std::string& pattern() const { return pattern_; }

  /// Calls `on_piece(std::string_view)` for each piece of `text`, in order; the pieces cover
  /// `text` exactly. `text` must be valid UTF-8 (the caller checks once). Thread-safe.
  template <typename OnPiece>
  void for_each_piece(std::string_view text, OnPiece&& on_piece) const {
    size_t start = 0, end = 0, cursor = 0;
    while (next_match(text, cursor, start, end)) {
      if (start > cursor) on_piece(text.substr(cursor, start - cursor));
      on_piece(text.substr(start, end - start));
      cursor = end;
    }
    if (cursor < text.size()) on_piece(text.substr(cursor));
  }

 private:
  /// Finds the next non-empty match at or after `from`; false when there is none.
  bool next_match(std::string_view text, size_t from, size_t& start, size_t& end) const;

  std::string pattern_;
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace ember::data
