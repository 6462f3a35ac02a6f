// The BPE model proper: turns one pre-tokenized piece (raw bytes) into token ids by starting from
// one symbol per byte and repeatedly applying the lowest-ranked merge, leftmost first, exactly as
// the `tokenizers` package's BPE does. Merges live in an open-addressing table keyed by the pair
// of ids; short words merge with a rank array scan, long ones with a priority queue.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer/string_hash.h"

namespace ember::data {

/// One merge: the pair of ids it joins and the id of the joined token.
struct BpeMerge {
  int32_t left = 0;
  int32_t right = 0;
  int32_t merged = 0;
};

class BpeModel {
 public:
  /// `byte_ids[b]` is the id of the single-byte token for byte b, or -1 when the vocabulary lacks
  /// it (such bytes are dropped, as in `tokenizers`). `merges` are in rank order.
  /// With `ignore_merges`, a piece that is itself in the vocabulary (`whole_words`, keyed by raw
  /// bytes) is emitted as that one id without merging (Llama-3's setting).
  BpeModel(const std::array<int32_t, 256>& byte_ids, const std::vector<BpeMerge>& merges, bool ignore_merges,
           StringMap<int32_t> whole_words);

  /// Appends the ids of `piece` (raw bytes) to `out`.
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

 private:
  struct Slot {
    uint64_t key;
    int32_t rank;
    int32_t merged;
  };
  static constexpr uint64_t kEmptyKey = ~uint64_t(0);

  static uint64_t pair_key(int32_t left, int32_t right) { return (uint64_t(uint32_t(left)) << 32) | uint32_t(right); }
  /// The slot for (left, right), or nullptr when no merge joins them.
  const Slot* find(int32_t left, int32_t right) const {
    uint64_t key = pair_key(left, right);
    size_t index = size_t((key * 0x9E3779B97F4A7C15ull) >> shift_);
    while (true) {
      const Slot& slot = slots_[index];
      if (slot.key == key) return &slot;
      if (slot.key == kEmptyKey) return nullptr;
      index = (index + 1) & mask_;
    }
  }
  void merge_short(std::vector<int32_t>& symbols) const;
  void merge_long(std::vector<int32_t>& symbols) const;

  std::array<int32_t, 256> byte_ids_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 0;
  bool ignore_merges_;
  StringMap<int32_t> whole_words_;
};

}  // namespace ember::data
