// BPE training with incremental pair counts (see trainer.h). Each distinct word is a symbol
// sequence with a count; pair counts and, per pair, the words containing it are kept up to date
// as merges are applied, and a lazy max-heap picks the most frequent pair (ties: smaller ids).
#include "data/tokenizer/trainer.h"

#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/log.h"
#include "data/tokenizer/byte_level.h"

namespace ember::data {
namespace {

uint64_t pair_key(int32_t left, int32_t right) { return (uint64_t(uint32_t(left)) << 32) | uint32_t(right); }
int32_t key_left(uint64_t key) { return int32_t(key >> 32); }
int32_t key_right(uint64_t key) { return int32_t(key & 0xFFFFFFFFu); }

struct Word {
  std::vector<int32_t> symbols;
  int64_t count;
};

struct HeapEntry {
  int64_t count;
  uint64_t pair;
  bool operator<(const HeapEntry& other) const {
    return count != other.count ? count < other.count : pair > other.pair;
  }
};

class MergeLearner {
 public:
  MergeLearner(const WordCounts& counts, int32_t first_byte_id) {
    words_.reserve(counts.size());
    for (const auto& [text, count] : counts) {
      Word word{{}, int64_t(count)};
      word.symbols.reserve(text.size());
      for (char c : text) word.symbols.push_back(first_byte_id + int32_t(uint8_t(c)));
      words_.push_back(std::move(word));
    }
    for (uint32_t w = 0; w < words_.size(); ++w) {
      const Word& word = words_[w];
      for (size_t i = 0; i + 1 < word.symbols.size(); ++i) {
        uint64_t key = pair_key(word.symbols[i], word.symbols[i + 1]);
        pair_counts_[key] += word.count;
        where_[key].push_back(w);
      }
    }
    for (const auto& [key, count] : pair_counts_) heap_.push(HeapEntry{count, key});
    seen_stamp_.assign(words_.size(), 0);
  }

  /// The most frequent pair with at least `min_frequency` occurrences, or false.
  bool best_pair(int64_t min_frequency, uint64_t& pair) {
    while (!heap_.empty()) {
      HeapEntry top = heap_.top();
      heap_.pop();
      auto it = pair_counts_.find(top.pair);
      int64_t current = it == pair_counts_.end() ? 0 : it->second;
      if (current != top.count) {
        if (current > 0) heap_.push(HeapEntry{current, top.pair});
        continue;
      }
      if (current < min_frequency || current <= 0) return false;
      pair = top.pair;
      return true;
    }
    return false;
  }

  /// Replaces every occurrence of `pair` by `merged` and updates the pair statistics.
  void apply(uint64_t pair, int32_t merged) {
    const int32_t left = key_left(pair), right = key_right(pair);
    ++stamp_;
    std::vector<uint32_t> word_ids = std::move(where_[pair]);
    where_.erase(pair);
    std::unordered_set<uint64_t> new_pairs;
    std::vector<int32_t> merged_symbols;
    for (uint32_t w : word_ids) {
      if (seen_stamp_[w] == stamp_) continue;
      seen_stamp_[w] = stamp_;
      Word& word = words_[w];
      merged_symbols.clear();
      bool changed = false;
      for (size_t i = 0; i < word.symbols.size(); ++i) {
        if (i + 1 < word.symbols.size() && word.symbols[i] == left && word.symbols[i + 1] == right) {
          merged_symbols.push_back(merged);
          ++i;
          changed = true;
        } else {
          merged_symbols.push_back(word.symbols[i]);
        }
      }
      if (!changed) continue;
      for (size_t i = 0; i + 1 < word.symbols.size(); ++i)
        pair_counts_[pair_key(word.symbols[i], word.symbols[i + 1])] -= word.count;
      word.symbols.swap(merged_symbols);
      for (size_t i = 0; i + 1 < word.symbols.size(); ++i) {
        uint64_t key = pair_key(word.symbols[i], word.symbols[i + 1]);
        pair_counts_[key] += word.count;
        if (word.symbols[i] == merged || word.symbols[i + 1] == merged) {
          where_[key].push_back(w);
          new_pairs.insert(key);
        }
      }
    }
    pair_counts_.erase(pair);
    for (uint64_t key : new_pairs) heap_.push(HeapEntry{pair_counts_[key], key});
  }

 private:
  std::vector<Word> words_;
  std::unordered_map<uint64_t, int64_t> pair_counts_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where_;
  std::priority_queue<HeapEntry> heap_;
  std::vector<uint32_t> seen_stamp_;
  uint32_t stamp_ = 0;
};

void check_options(const TrainOptions& options) {
  const int64_t floor = int64_t(options.special_tokens.size()) + 256;
  if (options.vocab_size < floor)
    fail_usage("vocab size {} is too small: the 256 byte tokens and {} special tokens need at least {}",
               options.vocab_size, options.special_tokens.size(), floor);
  if (options.vocab_size > INT32_MAX) fail_usage("vocab size {} does not fit 32-bit token ids", options.vocab_size);
  if (options.min_frequency < 1) fail_usage("min frequency must be at least 1, got {}", options.min_frequency);
  std::unordered_set<std::string> seen;
  for (const std::string& token : options.special_tokens) {
    if (token.empty()) fail_usage("special tokens must not be empty");
    if (find_invalid_utf8(token)) fail_usage("special token '{}' is not valid UTF-8", token);
    if (!seen.insert(token).second) fail_usage("special token '{}' is given twice", token);
  }
}

CorpusOptions corpus_options(const TrainOptions& options) {
  return CorpusOptions{options.split_pattern, options.special_tokens, options.jsonl_field, options.threads};
}

}  // namespace

Tokenizer train_tokenizer_on_words(const WordCounts& words, const TrainOptions& options) {
  check_options(options);
  TokenizerSpec spec;
  spec.pre_tokenizer = PreTokenizerKind::SplitThenByteLevel;
  spec.split_pattern = options.split_pattern;
  std::vector<std::string> id_to_token;
  std::unordered_map<std::string, int32_t> token_ids;
  auto add_token = [&](const std::string& token) {
    int32_t id = int32_t(id_to_token.size());
    id_to_token.push_back(token);
    token_ids.emplace(token, id);
    return id;
  };
  for (const std::string& special : options.special_tokens)
    spec.added_tokens.push_back(AddedToken{add_token(special), special, true, false});
  const int32_t first_byte_id = int32_t(id_to_token.size());
  for (const std::string& spelling : byte_level_alphabet()) add_token(spelling);

  MergeLearner learner(words, first_byte_id);
  uint64_t pair = 0;
  while (int64_t(id_to_token.size()) < options.vocab_size && learner.best_pair(options.min_frequency, pair)) {
    const std::string& left = id_to_token[size_t(key_left(pair))];
    const std::string& right = id_to_token[size_t(key_right(pair))];
    spec.merges.emplace_back(left, right);
    std::string joined = left + right;
    auto existing = token_ids.find(joined);
    int32_t merged = existing != token_ids.end() ? existing->second : add_token(joined);
    learner.apply(pair, merged);
  }
  for (size_t id = 0; id < id_to_token.size(); ++id) spec.vocab.emplace_back(id_to_token[id], int32_t(id));
  log::info("tokenizer: learned {} merges from {} distinct words; vocab size {}", spec.merges.size(), words.size(),
            id_to_token.size());
  return Tokenizer(std::move(spec), "<trained tokenizer>");
}

Tokenizer train_tokenizer(const std::vector<std::string>& input_files, const TrainOptions& options) {
  check_options(options);
  if (input_files.empty()) fail_usage("tokenizer training needs at least one input file");
  return train_tokenizer_on_words(count_corpus_words(input_files, corpus_options(options)), options);
}

Tokenizer train_tokenizer_on_texts(const std::vector<std::string>& texts, const TrainOptions& options) {
  check_options(options);
  return train_tokenizer_on_words(count_text_words(texts, corpus_options(options)), options);
}

}  // namespace ember::data
