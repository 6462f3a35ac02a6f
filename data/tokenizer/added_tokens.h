// Added (special) tokens: matched in the raw text before normalization and pre-tokenization,
// leftmost-longest like the `tokenizers` package, so "<|eos|>" is always one id and never split.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ember::data {

/// An entry of tokenizer.json's "added_tokens". Ember supports single_word, lstrip and rstrip
/// only when false (the loader rejects other values).
struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = true;
  bool normalized = false;
};

class AddedTokenMatcher {
 public:
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);

  bool empty() const { return empty_; }

  /// Splits `text` at added tokens: calls on_text(std::string_view) for each non-empty stretch
  /// between matches and on_token(int32_t id) for each match, in order.
  template <typename OnText, typename OnToken>
  void split(std::string_view text, OnText&& on_text, OnToken&& on_token) const {
    size_t stretch_start = 0, i = 0;
    while (i < text.size()) {
      const auto& candidates = by_first_byte_[uint8_t(text[i])];
      const Candidate* found = nullptr;
      for (const Candidate& candidate : candidates) {
        if (text.compare(i, candidate.content.size(), candidate.content) == 0) {
          found = &candidate;
          break;
        }
      }
      if (found == nullptr) {
        ++i;
        continue;
      }
      if (i > stretch_start) on_text(text.substr(stretch_start, i - stretch_start));
      on_token(found->id);
      i += found->content.size();
      stretch_start = i;
    }
    if (stretch_start < text.size()) on_text(text.substr(stretch_start));
  }

 private:
  struct Candidate {
    std::string content;
    int32_t id;
  };
  /// Candidates grouped by first byte, longest first, so the first hit is the longest match.
  std::array<std::vector<Candidate>, 256> by_first_byte_;
  bool empty_ = true;
};

}  // namespace ember::data
