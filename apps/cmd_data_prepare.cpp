// `ember data prepare --input PATH... [--exclude PATTERN...] [--document UNIT] [--field text]
// --tokenizer T --out FILE.h5 [--shard-tokens N] [--compression N] [--eos TOKEN] [--threads N]`:
// tokenizes a folder, files or glob patterns (text, JSONL, Parquet; gzip / zstd compressed) into
// an HDF5 token store (docs/formats.md, docs/own-data.md) and prints one summary line of what was
// read, written and skipped.
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "apps/cmd_data.h"
#include "apps/output_guards.h"
#include "core/stop_cleanup.h"
#include "data/input_files.h"
#include "data/token_store_prepare.h"
#include "data/tokenizer/tokenizer.h"

namespace ember::apps {

void register_data_prepare(CLI::App& data_cmd) {
  auto* cmd = data_cmd.add_subcommand(
      "prepare", "Tokenize files, folders or globs of text / JSONL / Parquet into an HDF5 token store");
  struct Args {
    data::PrepareOptions prepare;
    std::string unit = "auto";
    std::string tokenizer;
  };
  static Args args;
  cmd->add_option("--input", args.prepare.inputs,
                  "Files, directories (recursive; names starting with '.' skipped) or glob patterns; read in sorted "
                  "path order. Text, .jsonl / .ndjson, .parquet; gzip and zstd compressed files are decompressed")
      ->required();
  cmd->add_option("--exclude", args.prepare.excludes,
                  "Skip files matching a pattern: without '/' matched against the file name (*.lock), with '/' "
                  "against the whole path (*/build/*)");
  cmd->add_option("--document", args.unit,
                  "What one document of a text file is: file (the whole file), blank-line (blocks between blank "
                  "lines), line, jsonl-field (the --field of each JSON line); auto: file. .jsonl / .ndjson files "
                  "are always read by JSON lines and .parquet by rows")
      ->check(CLI::IsMember({"auto", "file", "blank-line", "line", "jsonl-field"}))
      ->capture_default_str();
  cmd->add_option("--field", args.prepare.jsonl_field, "JSONL field / Parquet column holding the document text")
      ->capture_default_str();
  cmd->add_option("--tokenizer", args.tokenizer, "tokenizer.json")->required();
  cmd->add_option("--out", args.prepare.out,
                  "Output token store (.h5), written atomically; an existing file is replaced only when it is a "
                  "token store, never when it is an input")
      ->required();
  cmd->add_option("--shard-tokens", args.prepare.shard_tokens,
                  "Split into shards NAME-00000.h5, NAME-00001.h5, ... of about N tokens (0: one file)")
      ->capture_default_str();
  cmd->add_option("--compression", args.prepare.compression, "Deflate level 0..9 (0: none)")->capture_default_str();
  cmd->add_option("--eos", args.prepare.eos_token,
                  fmt::format("EOS token (default: the first known of {})", fmt::join(data::kEosCandidates, " ")));
  cmd->add_option("--threads", args.prepare.threads, "Tokenizer threads (0: one per core)")->capture_default_str();
  cmd->callback([] {
    const auto start = std::chrono::steady_clock::now();
    args.prepare.unit = data::parse_document_unit(args.unit);
    // The guard sees the files the inputs expand to (folders and patterns included).
    check_token_store_output(args.prepare.out, args.prepare.shard_tokens > 0,
                             data::expand_input_files(args.prepare.inputs, args.prepare.excludes), args.tokenizer);
    remove_temporaries_on_stop({args.prepare.out});
    auto tokenizer = data::Tokenizer::load(args.tokenizer);
    data::PrepareSummary summary = data::prepare_token_store(tokenizer, args.prepare);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << fmt::format("{} in {:.1f} s ({:.1f} MB/s); wrote {}\n", summary.describe(), seconds,
                             double(summary.input_bytes) / 1e6 / std::max(seconds, 1e-9),
                             fmt::join(summary.files, " "));
  });
}

}  // namespace ember::apps
