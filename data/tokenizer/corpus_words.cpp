// Streaming, multi-threaded pre-token word counting for training (see corpus_words.h).
#include "data/tokenizer/corpus_words.h"

#include <algorithm>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "data/compressed_reader.h"
#include "data/tokenizer/added_tokens.h"
#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/regex_splitter.h"

namespace ember::data {
namespace {

constexpr size_t kChunkBytes = size_t(4) << 20;

/// Counts words of text chunks, one map per thread, merged at the end.
class ParallelCounter {
 public:
  explicit ParallelCounter(const CorpusOptions& options)
      : splitter_(options.split_pattern),
        matcher_(make_added(options.special_tokens)),
        threads_(options.threads > 0 ? size_t(options.threads) : std::max(1u, std::thread::hardware_concurrency())),
        counts_(threads_) {}

  /// Queues a document (valid UTF-8); counts the queue once it holds a few MiB per thread.
  void add(std::string document) {
    pending_bytes_ += document.size();
    pending_.push_back(std::move(document));
    if (pending_bytes_ >= threads_ * kChunkBytes) flush();
  }

  WordCounts finish() {
    flush();
    WordCounts total = std::move(counts_[0]);
    for (size_t t = 1; t < counts_.size(); ++t)
      for (auto& [word, count] : counts_[t]) total[word] += count;
    return total;
  }

 private:
  static std::vector<AddedToken> make_added(const std::vector<std::string>& specials) {
    std::vector<AddedToken> tokens;
    for (size_t i = 0; i < specials.size(); ++i) tokens.push_back(AddedToken{int32_t(i), specials[i], true, false});
    return tokens;
  }

  void count_chunk(const std::string& chunk, WordCounts& counts) const {
    auto count_stretch = [&](std::string_view stretch) {
      splitter_.for_each_piece(stretch, [&](std::string_view piece) {
        auto it = counts.find(piece);
        if (it != counts.end())
          ++it->second;
        else
          counts.emplace(std::string(piece), 1);
      });
    };
    matcher_.split(chunk, count_stretch, [](int32_t) {});
  }

  /// Thread t counts documents t, t + T, t + 2T, ... of the queue into its own map.
  void flush() {
    auto count_share = [this](size_t t) {
      for (size_t i = t; i < pending_.size(); i += threads_) count_chunk(pending_[i], counts_[t]);
    };
    std::vector<std::thread> pool;
    for (size_t t = 1; t < std::min(threads_, pending_.size()); ++t) pool.emplace_back(count_share, t);
    count_share(0);
    for (auto& thread : pool) thread.join();
    pending_.clear();
    pending_bytes_ = 0;
  }

  RegexSplitter splitter_;
  AddedTokenMatcher matcher_;
  size_t threads_;
  std::vector<WordCounts> counts_;
  std::vector<std::string> pending_;
  size_t pending_bytes_ = 0;
};

bool is_jsonl(const std::string& path) {
  const std::string name = strip_compression_suffix(path);
  return name.size() >= 6 && name.compare(name.size() - 6, 6, ".jsonl") == 0;
}

// Plain text, gzip or zstd (compressed_reader.h); a file with a NUL byte in its first MiB is
// binary and skipped (as `data prepare` skips it).
void read_plain_text(const std::string& path, ParallelCounter& counter) {
  CompressedReader in(path);
  if (in.peek().find('\0') != std::string_view::npos) {
    log::debug("tokenizer: skipped binary file {}", path);
    return;
  }
  std::string carry;
  std::vector<char> buffer(kChunkBytes);
  while (size_t got = in.read(buffer.data(), buffer.size())) {
    carry.append(buffer.data(), got);
    size_t cut = carry.rfind('\n');
    if (cut == std::string::npos) continue;
    counter.add(repair_utf8(std::string_view(carry).substr(0, cut + 1)));
    carry.erase(0, cut + 1);
  }
  if (!carry.empty()) counter.add(repair_utf8(carry));
}

void read_jsonl(const std::string& path, const std::string& field, ParallelCounter& counter) {
  CompressedReader in(path);
  std::string line, chunk;
  size_t line_number = 0;
  while (in.read_line(line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      fail("{}:{}: not a JSON object: {}", path, line_number, e.what());
    }
    if (!record.is_object() || !record.contains(field) || !record[field].is_string())
      fail("{}:{}: no string field '{}'", path, line_number, field);
    chunk += record[field].get_ref<const std::string&>();
    chunk += '\n';
    if (chunk.size() >= kChunkBytes) counter.add(std::exchange(chunk, {}));
  }
  if (!chunk.empty()) counter.add(std::move(chunk));
}

}  // namespace

WordCounts count_corpus_words(const std::vector<std::string>& files, const CorpusOptions& options) {
  ParallelCounter counter(options);
  for (const std::string& path : files) {
    if (is_jsonl(path))
      read_jsonl(path, options.jsonl_field, counter);
    else
      read_plain_text(path, counter);
  }
  return counter.finish();
}

WordCounts count_text_words(const std::vector<std::string>& texts, const CorpusOptions& options) {
  ParallelCounter counter(options);
  for (const std::string& text : texts) counter.add(repair_utf8(text));
  return counter.finish();
}

}  // namespace ember::data
