// `ember data prepare`'s pipeline: input files -> documents -> batched tokenization -> token store shards.
#include "data/token_store_prepare.h"

#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/log.h"
#include "data/document_reader.h"
#include "data/input_files.h"
#include "data/token_store.h"
#include "data/tokenizer/byte_level.h"

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

  int64_t documents() const { return summary_.documents; }

  /// Closes the open shard.
  PrepareSummary finish() {
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

std::string PrepareSummary::describe() const {
  const double bytes = double(input_bytes);
  const std::string size = bytes >= 1e9   ? fmt::format("{:.2f} GB", bytes / 1e9)
                           : bytes >= 1e6 ? fmt::format("{:.1f} MB", bytes / 1e6)
                           : bytes >= 1e3 ? fmt::format("{:.1f} kB", bytes / 1e3)
                                          : fmt::format("{} bytes", input_bytes);
  std::string line = fmt::format("read {} files ({}): {} documents, {} tokens", input_files, size, documents, tokens);
  int64_t skipped_files = 0;
  std::vector<std::string> reasons;
  for (const auto& [reason, count] : skipped) {
    skipped_files += count;
    reasons.push_back(fmt::format("{} {}", count, reason));
  }
  if (skipped_files > 0) line += fmt::format("; skipped {} files ({})", skipped_files, fmt::join(reasons, ", "));
  return line;
}

PrepareSummary prepare_token_store(const Tokenizer& tokenizer, const PrepareOptions& options) {
  if (options.out.empty()) fail_usage("data prepare needs --out");
  if (options.shard_tokens < 0) fail_usage("--shard-tokens must be >= 0, got {}", options.shard_tokens);
  const std::vector<std::string> files = expand_input_files(options.inputs, options.excludes);
  TokenStoreWriterOptions store_options;
  store_options.vocab_size = tokenizer.vocab_size();
  store_options.eos_id = resolve_eos_id(tokenizer, options.eos_token);
  store_options.tokenizer_sha256 = tokenizer.sha256();
  store_options.sources = options.inputs;
  store_options.compression = options.compression;
  ShardedWriter writer(options, store_options);
  PrepareSummary read;

  // Documents of consecutive files share batches (many small files still keep every thread busy).
  std::vector<std::string> batch;
  size_t batch_bytes = 0;
  std::string batch_location;
  auto flush = [&] {
    if (batch.empty()) return;
    std::vector<std::vector<int32_t>> encoded;
    try {
      encoded = tokenizer.encode_batch(batch, options.threads);
    } catch (const Error& error) {
      fail("cannot tokenize the documents from {} on: {}", batch_location, error.what());
    }
    for (const auto& document : encoded) writer.add(document);
    batch.clear();
    batch_bytes = 0;
  };
  auto skip = [&](const std::string& file, const std::string& reason) {
    log::debug("skipped {}: {}", file, reason);
    read.skipped[reason] += 1;
  };
  for (const auto& file : files) {
    if (!std::ifstream(file, std::ios::binary)) {
      skip(file, "unreadable");
      continue;
    }
    auto reader = open_document_reader(file, options.unit, options.jsonl_field);
    if (auto reason = reader->skip_reason(); !reason.empty()) {
      skip(file, reason);
      continue;
    }
    const bool whole_file = !is_parquet_path(file) && resolve_document_unit(file, options.unit) == DocumentUnit::kFile;
    int64_t documents = 0;
    std::string skip_reason = "empty";
    while (auto document = reader->next()) {
      if (auto bad = find_invalid_utf8(*document)) {
        if (!whole_file) fail("{}: invalid UTF-8 at byte {} of the document", reader->location(), *bad);
        skip_reason = "not UTF-8";
        break;
      }
      if (batch.empty()) batch_location = reader->location();
      batch_bytes += document->size();
      batch.push_back(std::move(*document));
      ++documents;
      if (batch.size() >= kBatchDocuments || batch_bytes >= kBatchBytes) flush();
    }
    if (documents == 0) {
      skip(file, skip_reason);
      continue;
    }
    read.input_files += 1;
    read.input_bytes += reader->bytes_read();
  }
  flush();
  if (writer.documents() == 0) {
    fail_usage("the inputs yield no documents ({}); nothing written to '{}'", read.describe(), options.out);
  }
  PrepareSummary summary = writer.finish();
  summary.input_files = read.input_files;
  summary.input_bytes = read.input_bytes;
  summary.skipped = read.skipped;
  return summary;
}

}  // namespace ember::data
