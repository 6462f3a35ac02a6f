// Helpers shared by the tokenizer tests: small hand-built tokenizer.json documents, a reference
// (slow, obviously correct) BPE merge loop, and random valid UTF-8 text.
#pragma once

#include <climits>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/regex_splitter.h"

namespace ember::data::testing {

/// A Llama-3 style tokenizer.json: 256 byte tokens (ids 0..255 in byte order), then one token per
/// merge (merges given in raw bytes), then the added tokens.
inline nlohmann::ordered_json make_tokenizer_json(const std::vector<std::pair<std::string, std::string>>& raw_merges,
                                                  const std::vector<std::string>& specials = {}) {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  const auto& alphabet = byte_level_alphabet();
  int id = 0;
  for (const auto& spelling : alphabet) vocab[spelling] = id++;
  nlohmann::ordered_json merges = nlohmann::ordered_json::array();
  for (const auto& [left, right] : raw_merges) {
    std::string a = bytes_to_byte_level(left), b = bytes_to_byte_level(right);
    merges.push_back({a, b});
    if (!vocab.contains(a + b)) vocab[a + b] = id++;
  }
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  for (const auto& special : specials) {
    added.push_back({{"id", id}, {"content", special}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
    vocab[special] = id++;
  }
  return {{"version", "1.0"},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"}, {"pattern", {{"Regex", std::string(kGpt4SplitPattern)}}}, {"behavior", "Isolated"},
               {"invert", false}},
              {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}}},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"vocab", vocab}, {"merges", merges}}}};
}

/// Reference BPE on one piece: repeatedly merge the lowest-ranked adjacent pair, leftmost first.
inline std::vector<std::string> reference_bpe(const std::string& piece,
                                              const std::vector<std::pair<std::string, std::string>>& raw_merges) {
  std::vector<std::string> symbols;
  for (char c : piece) symbols.emplace_back(1, c);
  while (symbols.size() > 1) {
    size_t best_rank = SIZE_MAX, best_at = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i)
      for (size_t rank = 0; rank < raw_merges.size() && rank < best_rank; ++rank)
        if (raw_merges[rank].first == symbols[i] && raw_merges[rank].second == symbols[i + 1]) {
          best_rank = rank;
          best_at = i;
        }
    if (best_rank == SIZE_MAX) break;
    symbols[best_at] += symbols[best_at + 1];
    symbols.erase(symbols.begin() + std::ptrdiff_t(best_at) + 1);
  }
  return symbols;
}

/// Random valid UTF-8 drawn from many scripts, emoji (with ZWJ and skin tones), digits,
/// whitespace runs, tabs, newlines, punctuation and code-like text.
inline std::string random_utf8(std::mt19937_64& rng, size_t code_points) {
  static const std::vector<std::pair<char32_t, char32_t>> ranges = {
      {0x20, 0x7E},       {0x30, 0x39},       {0x09, 0x0D},       {0x20, 0x20},       {0xA0, 0x17F},
      {0x391, 0x3C9},     {0x410, 0x44F},     {0x5D0, 0x5EA},     {0x627, 0x64A},     {0x900, 0x97F},
      {0xE01, 0xE3A},     {0x3041, 0x3096},   {0x4E00, 0x4FFF},   {0xAC00, 0xAD00},   {0x1F600, 0x1F64F},
      {0x1F3FB, 0x1F3FF}, {0x200B, 0x200D},   {0x2000, 0x206F},   {0x300, 0x36F},     {0x10000, 0x1007F},
      {0x85, 0x85},       {0x3000, 0x3000},   {0xFEFF, 0xFEFF},   {0x1D400, 0x1D4FF}, {0xFF01, 0xFF5E}};
  std::uniform_int_distribution<size_t> pick_range(0, ranges.size() - 1);
  std::string out;
  for (size_t i = 0; i < code_points; ++i) {
    auto [low, high] = ranges[pick_range(rng)];
    append_utf8(out, char32_t(std::uniform_int_distribution<uint32_t>(low, high)(rng)));
  }
  return out;
}

}  // namespace ember::data::testing
