// `ember data inspect FILE.h5 [--tokenizer T] [--show N] [--max-chars C]`: validates a token store
// and prints its attributes, counts, a histogram of document lengths and, with the tokenizer that
// wrote it, the first N documents decoded.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "apps/cmd_data.h"
#include "data/token_store.h"
#include "data/tokenizer/tokenizer.h"

namespace ember::apps {
namespace {

// Document counts per power-of-two length bucket: [0, 1), [1, 2), [2, 4), [4, 8), ...
void print_length_histogram(const std::vector<int64_t>& lengths) {
  std::vector<int64_t> buckets;
  for (int64_t length : lengths) {
    size_t bucket = length == 0 ? 0 : size_t(64 - __builtin_clzll(uint64_t(length)));
    if (buckets.size() <= bucket) buckets.resize(bucket + 1, 0);
    ++buckets[bucket];
  }
  int64_t largest = *std::max_element(buckets.begin(), buckets.end());
  std::cout << "document length histogram (tokens):\n";
  size_t first = size_t(std::find_if(buckets.begin(), buckets.end(), [](int64_t count) { return count > 0; }) - buckets.begin());
  for (size_t bucket = first; bucket < buckets.size(); ++bucket) {
    int64_t low = bucket == 0 ? 0 : int64_t{1} << (bucket - 1), high = int64_t{1} << bucket;
    auto bar = std::string(size_t(40 * buckets[bucket] / largest), '#');
    std::cout << fmt::format("  [{:>7}, {:>7})  {:>10}  {}\n", low, high, buckets[bucket], bar);
  }
}

void print_summary(const data::TokenStore& store) {
  std::cout << fmt::format("file              {}\n", store.path());
  std::cout << fmt::format("vocab_size        {} (tokens stored as uint{})\n", store.vocab_size(), store.token_bytes() * 8);
  std::cout << fmt::format("eos_id            {}\n", store.eos_id());
  std::cout << fmt::format("tokenizer_sha256  {}\n", store.tokenizer_sha256());
  std::cout << fmt::format("sources           {}\n", fmt::join(store.sources(), ", "));
  std::cout << fmt::format("documents         {}\n", store.num_documents());
  std::cout << fmt::format("tokens            {}\n", store.num_tokens());
  if (store.num_documents() == 0) return;
  std::vector<int64_t> lengths;
  for (int64_t d = 0; d < store.num_documents(); ++d) lengths.push_back(store.document_length(d));
  std::vector<int64_t> sorted = lengths;
  std::sort(sorted.begin(), sorted.end());
  std::cout << fmt::format("length            min {}  median {}  mean {:.1f}  max {}\n", sorted.front(),
                           sorted[sorted.size() / 2], double(store.num_tokens()) / double(sorted.size()), sorted.back());
  print_length_histogram(lengths);
}

}  // namespace

void register_data_inspect(CLI::App& data_cmd) {
  auto* cmd = data_cmd.add_subcommand("inspect", "Validate an HDF5 token store and print counts, lengths, samples");
  struct Args {
    std::string file;
    std::string tokenizer;
    int64_t show = 3;
    size_t max_chars = 500;
  };
  static Args args;
  cmd->add_option("file", args.file, "Token store (.h5)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--tokenizer", args.tokenizer, "tokenizer.json that wrote the store: decode sample documents")
      ->check(CLI::ExistingFile);
  cmd->add_option("--show", args.show, "Documents to decode (with --tokenizer)")->capture_default_str();
  cmd->add_option("--max-chars", args.max_chars, "Characters shown per decoded document")->capture_default_str();
  cmd->callback([] {
    std::optional<data::Tokenizer> tokenizer;
    if (!args.tokenizer.empty()) tokenizer = data::Tokenizer::load(args.tokenizer);
    auto store = data::TokenStore::open(args.file, tokenizer ? std::optional(tokenizer->sha256()) : std::nullopt);
    print_summary(store);
    if (!tokenizer) return;
    for (int64_t d = 0; d < std::min(args.show, store.num_documents()); ++d) {
      std::string text = tokenizer->decode(store.document(d));
      bool cut = text.size() > args.max_chars;
      std::cout << fmt::format("--- document {} ({} tokens)\n{}{}\n", d, store.document_length(d),
                               text.substr(0, args.max_chars), cut ? " [...]" : "");
    }
  });
}

}  // namespace ember::apps
