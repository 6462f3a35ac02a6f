// `ember data prepare`'s pipeline: documents -> batched tokenization -> token store shards.
#include "data/token_store_prepare.h"

#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/log.h"
#include "data/document_reader.h"
#include "data/token_store.h"

namespace ember::data {
namespace {

constexpr size_t kBatchDocuments = 4096;
constexpr size_t kBatchBytes = size_t{16} << 20;

// Opens shards on demand and rolls over to the next one past the shard size.
class ShardedWriter {
 public:
  ShardedWriter(const PrepareOptions& options, TokenStoreWriterOptions store_options)
      : options_(options), store_options_(std::move(store_options)) {}

  void add(std::span<const int32_t> document) {
    if (!writer_) open_shard();
    writer_->add_document(document);
    summary_.documents += 1;
    summary_.tokens += static_cast<int64_t>(document.size());
    if (options_.shard_tokens > 0 && writer_->num_tokens() >= options_.shard_tokens) close_shard();
  }

  /// Closes the open shard; with no documents at all it still writes one (empty) store.
  PrepareSummary finish() {
    if (!writer_ && summary_.files.empty()) open_shard();
    if (writer_) close_shard();
    return summary_;
  }

 private:
  void open_shard() {
    auto index = static_cast<int64_t>(summary_.files.size());
    std::string path = options_.shard_tokens > 0 ? shard_path(options_.out, index) : options_.out;
    writer_ = std::make_unique<TokenStoreWriter>(path, store_options_);
  }
  void close_shard() {
    writer_->finish();
    log::info("wrote {}: {} documents, {} tokens", writer_->path(), writer_->num_documents(), writer_->num_tokens());
    summary_.files.push_back(writer_->path());
    writer_.reset();
  }

  const PrepareOptions& options_;
  TokenStoreWriterOptions store_options_;
  std::unique_ptr<TokenStoreWriter> writer_;
  PrepareSummary summary_;
};

}  // namespace

int32_t resolve_eos_id(const Tokenizer& tokenizer, const std::string& eos_token) {
  if (!eos_token.empty()) {
    auto id = tokenizer.token_to_id(eos_token);
    if (!id) fail_usage("the tokenizer has no token '{}' to use as EOS", eos_token);
    return *id;
  }
  for (const auto& candidate : kEosCandidates) {
    if (auto id = tokenizer.token_to_id(candidate)) return *id;
  }
  fail_usage("the tokenizer has none of the EOS tokens {}; name one with --eos", fmt::join(kEosCandidates, ", "));
}

std::string shard_path(const std::string& out, int64_t index) {
  std::filesystem::path path(out);
  auto name = fmt::format("{}-{:05d}{}", path.stem().string(), index, path.extension().string());
  return (path.parent_path() / name).string();
}

PrepareSummary prepare_token_store(const Tokenizer& tokenizer, const PrepareOptions& options) {
  if (options.inputs.empty()) fail_usage("data prepare needs at least one --input file");
  if (options.out.empty()) fail_usage("data prepare needs --out");
  if (options.shard_tokens < 0) fail_usage("--shard-tokens must be >= 0, got {}", options.shard_tokens);
  TokenStoreWriterOptions store_options;
  store_options.vocab_size = tokenizer.vocab_size();
  store_options.eos_id = resolve_eos_id(tokenizer, options.eos_token);
  store_options.tokenizer_sha256 = tokenizer.sha256();
  store_options.sources = options.inputs;
  store_options.compression = options.compression;
  ShardedWriter writer(options, store_options);

  std::vector<std::string> batch;
  size_t batch_bytes = 0, batch_line = 0;
  std::string batch_file;
  auto flush = [&] {
    if (batch.empty()) return;
    std::vector<std::vector<int32_t>> encoded;
    try {
      encoded = tokenizer.encode_batch(batch, options.threads);
    } catch (const Error& error) {
      fail("cannot tokenize the documents of '{}' from line {} on: {}", batch_file, batch_line, error.what());
    }
    for (const auto& document : encoded) writer.add(document);
    batch.clear();
    batch_bytes = 0;
  };
  for (const auto& input : options.inputs) {
    DocumentReader reader(input, options.jsonl_field);
    batch_file = input;
    while (auto document = reader.next()) {
      if (batch.empty()) batch_line = reader.document_line();
      batch_bytes += document->size();
      batch.push_back(std::move(*document));
      if (batch.size() >= kBatchDocuments || batch_bytes >= kBatchBytes) flush();
    }
    flush();
  }
  return writer.finish();
}

}  // namespace ember::data
