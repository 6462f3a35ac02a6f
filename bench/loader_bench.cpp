// Loader throughput: writes a synthetic token store (random document lengths, uint16 ids), then
// measures how many tokens per second the packed loader delivers, on the caller's thread
// (prefetch 0: the raw cost of building batches) and through the prefetch thread (what a trainer
// waiting on next_train() sees). The trainer's own tokens/s (ember pretrain's log) must stay well
// below these figures for the loader never to be the bottleneck.
//
//   loader_bench [--tokens N] [--seq-len L] [--batch B] [--seconds S] [--compression C] [--dir D]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "data/loader.h"
#include "data/token_store.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void write_synthetic_store(const std::string& path, int64_t tokens, int compression) {
  ember::data::TokenStoreWriterOptions options;
  options.vocab_size = 32000;
  options.eos_id = 1;
  options.tokenizer_sha256 = std::string(64, '0');
  options.sources = {"synthetic"};
  options.compression = compression;
  ember::data::TokenStoreWriter writer(path, options);
  std::mt19937_64 rng(7);
  std::vector<int32_t> document;
  for (int64_t written = 0; written < tokens;) {
    document.resize(50 + rng() % 2000);
    for (auto& id : document) id = int32_t(2 + rng() % 31998);
    writer.add_document(document);
    written += int64_t(document.size());
  }
  writer.finish();
}

// Tokens per second of next_train() over about `seconds` (after one warm-up batch).
double measure(const ember::data::LoaderOptions& options, double seconds) {
  ember::data::Loader loader(options);
  loader.next_train();
  int64_t tokens = 0;
  auto start = Clock::now();
  while (seconds_since(start) < seconds) {
    ember::data::Batch batch = loader.next_train();
    tokens += batch.batch * batch.seq_len;
  }
  return double(tokens) / seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Packed loader throughput (tokens/s)"};
  int64_t tokens = 20'000'000, seq_len = 1024, batch = 8;
  double seconds = 3;
  int compression = 0;
  std::string dir = std::filesystem::temp_directory_path().string();
  app.add_option("--tokens", tokens, "Tokens in the synthetic store")->capture_default_str();
  app.add_option("--seq-len", seq_len, "Sequence length")->capture_default_str();
  app.add_option("--batch", batch, "Micro batch (rows per next_train)")->capture_default_str();
  app.add_option("--seconds", seconds, "Measuring time per configuration")->capture_default_str();
  app.add_option("--compression", compression, "Deflate level of the store")->capture_default_str();
  app.add_option("--dir", dir, "Directory for the synthetic store")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::string path = fmt::format("{}/ember_loader_bench_{}.h5", dir, ::getpid());
  auto start = Clock::now();
  write_synthetic_store(path, tokens, compression);
  double write_s = seconds_since(start);

  ember::data::LoaderOptions options;
  options.files = {path};
  options.seq_len = seq_len;
  options.micro_batch = batch;
  options.seed = 1;
  options.val_fraction = 0.01;
  start = Clock::now();
  { ember::data::Loader opened(options); }
  double open_s = seconds_since(start);

  options.prefetch = 0;
  double direct = measure(options, seconds);
  options.prefetch = 4;
  double prefetched = measure(options, seconds);
  std::filesystem::remove(path);

  fmt::print("store: {} tokens, compression {}, written in {:.2f} s ({:.1f} M tokens/s), opened+validated+split in {:.2f} s\n",
             tokens, compression, write_s, double(tokens) / write_s / 1e6, open_s);
  fmt::print("loader seq_len {} batch {}: {:.2f} M tokens/s on the caller's thread, {:.2f} M tokens/s with prefetch 4\n",
             seq_len, batch, direct / 1e6, prefetched / 1e6);
  fmt::print("{{\"bench\":\"loader\",\"tokens_per_s\":{:.0f},\"tokens_per_s_prefetch\":{:.0f},\"seq_len\":{},\"batch\":{},"
             "\"compression\":{}}}\n",
             direct, prefetched, seq_len, batch, compression);
  return 0;
}
