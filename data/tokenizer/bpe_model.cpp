// BPE merging by rank (see bpe_model.h).
#include "data/tokenizer/bpe_model.h"

#include <climits>
#include <queue>

namespace ember::data {
namespace {

/// Words up to this many symbols merge by scanning a rank array; longer ones use a heap.
constexpr size_t kShortWordSymbols = 48;

}  // namespace

BpeModel::BpeModel(const std::array<int32_t, 256>& byte_ids, const std::vector<BpeMerge>& merges,
                   bool ignore_merges, StringMap<int32_t> whole_words)
    : byte_ids_(byte_ids), ignore_merges_(ignore_merges), whole_words_(std::move(whole_words)) {
  size_t capacity = 16;
  int bits = 4;
  while (capacity < merges.size() * 2 + 1) {
    capacity *= 2;
    ++bits;
  }
  slots_.assign(capacity, Slot{kEmptyKey, 0, 0});
  mask_ = capacity - 1;
  shift_ = 64 - bits;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const BpeMerge& merge = merges[rank];
    uint64_t key = pair_key(merge.left, merge.right);
    size_t index = size_t((key * 0x9E3779B97F4A7C15ull) >> shift_);
    while (slots_[index].key != kEmptyKey && slots_[index].key != key) index = (index + 1) & mask_;
    // A repeated pair keeps its first (lowest) rank, as a map insert would.
    if (slots_[index].key == key) continue;
    slots_[index] = Slot{key, int32_t(rank), merge.merged};
  }
}

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    auto it = whole_words_.find(piece);
    if (it != whole_words_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  thread_local std::vector<int32_t> symbols;
  symbols.clear();
  for (char c : piece) {
    int32_t id = byte_ids_[uint8_t(c)];
    if (id >= 0) symbols.push_back(id);
  }
  if (symbols.size() > 1) {
    if (symbols.size() <= kShortWordSymbols)
      merge_short(symbols);
    else
      merge_long(symbols);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void BpeModel::merge_short(std::vector<int32_t>& symbols) const {
  int32_t ranks[kShortWordSymbols];
  int32_t merged_ids[kShortWordSymbols];
  size_t count = symbols.size();
  auto look_up = [&](size_t i) {
    const Slot* slot = find(symbols[i], symbols[i + 1]);
    ranks[i] = slot ? slot->rank : INT32_MAX;
    merged_ids[i] = slot ? slot->merged : -1;
  };
  for (size_t i = 0; i + 1 < count; ++i) look_up(i);
  while (count > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < count; ++i)
      if (ranks[i] < ranks[best]) best = i;
    if (ranks[best] == INT32_MAX) break;
    symbols[best] = merged_ids[best];
    for (size_t i = best + 1; i + 1 < count; ++i) symbols[i] = symbols[i + 1];
    for (size_t i = best + 1; i + 2 < count; ++i) {
      ranks[i] = ranks[i + 1];
      merged_ids[i] = merged_ids[i + 1];
    }
    --count;
    if (best > 0) look_up(best - 1);
    if (best + 1 < count) look_up(best);
  }
  symbols.resize(count);
}

void BpeModel::merge_long(std::vector<int32_t>& symbols) const {
  // Doubly linked symbols; a heap of candidate merges ordered by (rank, position). Entries whose
  // symbols changed since they were pushed are recognised as stale and skipped.
  struct Candidate {
    int32_t rank;
    int32_t position;
    int32_t merged;
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : position > other.position;
    }
  };
  const int32_t count = int32_t(symbols.size());
  std::vector<int32_t> prev(static_cast<size_t>(count)), next(static_cast<size_t>(count));
  for (int32_t i = 0; i < count; ++i) {
    prev[size_t(i)] = i - 1;
    next[size_t(i)] = i + 1 < count ? i + 1 : -1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push = [&](int32_t position) {
    int32_t right = next[size_t(position)];
    if (right < 0) return;
    if (const Slot* slot = find(symbols[size_t(position)], symbols[size_t(right)]))
      heap.push(Candidate{slot->rank, position, slot->merged});
  };
  for (int32_t i = 0; i + 1 < count; ++i) push(i);
  std::vector<bool> removed(static_cast<size_t>(count), false);
  while (!heap.empty()) {
    Candidate top = heap.top();
    heap.pop();
    if (removed[size_t(top.position)]) continue;
    int32_t right = next[size_t(top.position)];
    if (right < 0) continue;
    const Slot* slot = find(symbols[size_t(top.position)], symbols[size_t(right)]);
    if (slot == nullptr || slot->rank != top.rank || slot->merged != top.merged) continue;
    symbols[size_t(top.position)] = top.merged;
    removed[size_t(right)] = true;
    next[size_t(top.position)] = next[size_t(right)];
    if (next[size_t(right)] >= 0) prev[size_t(next[size_t(right)])] = top.position;
    if (prev[size_t(top.position)] >= 0) push(prev[size_t(top.position)]);
    push(top.position);
  }
  size_t kept = 0;
  for (int32_t i = 0; i >= 0; i = next[size_t(i)]) symbols[kept++] = symbols[size_t(i)];
  symbols.resize(kept);
}

}  // namespace ember::data
