// Deterministic random numbers for task generators. The standard distributions are not specified
// bit for bit across standard libraries, so generators use this SplitMix64 stream and its own
// unbiased range sampling: the same (seed, task, index, attempt) gives the same problem on every
// platform and compiler.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

namespace ember::data::tasks {

/// The SplitMix64 finaliser: a bijective 64-bit mix with good avalanche.
constexpr uint64_t mix64(uint64_t value) {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

/// FNV-1a of a short string (task names), stable across platforms.
constexpr uint64_t fnv1a64(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : text) hash = (hash ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  return hash;
}

/// Folds several integers into one seed; the order matters.
inline uint64_t combine_seeds(std::initializer_list<uint64_t> parts) {
  uint64_t state = 0x243f6a8885a308d3ULL;
  for (uint64_t part : parts) state = mix64(state ^ mix64(part));
  return state;
}

class TaskRng {
 public:
  explicit TaskRng(uint64_t seed) : state_(seed) {}

  /// SplitMix64: a Weyl sequence through the mix64 finaliser.
  uint64_t next() {
    uint64_t value = mix64(state_);
    state_ += 0x9e3779b97f4a7c15ULL;
    return value;
  }

  /// Uniform integer in [low, high] (inclusive), without modulo bias.
  int64_t uniform(int64_t low, int64_t high) {
    uint64_t span = static_cast<uint64_t>(high - low) + 1;
    if (span == 0) return static_cast<int64_t>(next());  // the full 64-bit range
    uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    uint64_t draw = next();
    while (draw >= limit) draw = next();
    return low + static_cast<int64_t>(draw % span);
  }

  /// Uniform integer with exactly `digits` decimal digits (1..9 for one digit).
  int64_t with_digits(int digits) {
    int64_t low = 1;
    for (int i = 1; i < digits; ++i) low *= 10;
    return uniform(low, low * 10 - 1);
  }

  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(uniform(0, static_cast<int64_t>(items.size()) - 1))];
  }

  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(uniform(0, static_cast<int64_t>(i) - 1));
      std::swap(items[i - 1], items[j]);
    }
  }

 private:
  uint64_t state_;
};

}  // namespace ember::data::tasks
