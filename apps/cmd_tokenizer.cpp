// `ember tokenizer train|encode|decode`: train a byte-level BPE tokenizer.json from text / JSONL
// files, folders or glob patterns, and encode or decode line by line (one line of space-separated
// ids per text line; the newline itself is not encoded), or encode the whole input as one document
// (`encode --document file`: one line of ids, newlines included). Input comes from --input or
// stdin; output goes to stdout.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "apps/cli_checks.h"
#include "apps/command.h"
#include "apps/output_guards.h"
#include "core/error.h"
#include "core/log.h"
#include "core/stop_cleanup.h"
#include "data/input_files.h"
#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/tokenizer.h"
#include "data/tokenizer/trainer.h"

namespace ember::apps {
namespace {

/// Lines are encoded in batches of this many, spread over the worker threads.
constexpr size_t kLinesPerBatch = 8192;

struct TrainArgs {
  std::vector<std::string> inputs;
  std::vector<std::string> excludes;
  int64_t vocab_size = 0;
  std::string out;
  std::vector<std::string> specials;
  int64_t min_frequency = 2;
  std::string field = "text";
  int threads = 0;
  std::string digits = "grouped";
};

struct CodecArgs {
  std::string tokenizer;
  std::string input;
  std::string document = "line";  ///< encode: "line" or "file"
  int threads = 1;
};

/// Reads lines from --input (or stdin), calling on_batch(lines, first_line_number) per batch.
template <typename OnBatch>
void for_each_line_batch(const std::string& input, OnBatch&& on_batch) {
  std::ifstream file;
  if (!input.empty()) {
    file.open(input, std::ios::binary);
    if (!file) fail("cannot open input '{}'", input);
  }
  std::istream& in = input.empty() ? std::cin : file;
  std::vector<std::string> lines;
  size_t first_line = 1;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(std::move(line));
    if (lines.size() == kLinesPerBatch) {
      on_batch(lines, first_line);
      first_line += lines.size();
      lines.clear();
    }
  }
  if (in.bad()) fail("read error in '{}'", input.empty() ? "<stdin>" : input);
  if (!lines.empty()) on_batch(lines, first_line);
}

void run_train(const TrainArgs& args) {
  const std::vector<std::string> files = data::expand_input_files(args.inputs, args.excludes);
  check_tokenizer_output(args.out, files);
  remove_temporaries_on_stop({args.out});
  data::TrainOptions options;
  options.vocab_size = args.vocab_size;
  options.min_frequency = args.min_frequency;
  options.jsonl_field = args.field;
  options.threads = args.threads;
  options.split_pattern = std::string(args.digits == "single" ? data::kQwen2SplitPattern : data::kGpt4SplitPattern);
  for (const std::string& special : args.specials)
    if (std::find(options.special_tokens.begin(), options.special_tokens.end(), special) ==
        options.special_tokens.end())
      options.special_tokens.push_back(special);
  data::Tokenizer tokenizer = data::train_tokenizer(files, options);
  tokenizer.save(args.out);
  log::info("tokenizer: wrote {} (vocab size {}, sha256 {})", args.out, tokenizer.vocab_size(), tokenizer.sha256());
}

void append_ids(const std::vector<int32_t>& ids, std::string& out) {
  for (size_t k = 0; k < ids.size(); ++k) {
    if (k > 0) out += ' ';
    fmt::format_to(std::back_inserter(out), "{}", ids[k]);
  }
  out += '\n';
}

// The whole of --input (or stdin) as one document: one line of ids.
void encode_whole_input(const data::Tokenizer& tokenizer, const CodecArgs& args) {
  std::ifstream file;
  if (!args.input.empty()) {
    file.open(args.input, std::ios::binary);
    if (!file) fail("cannot open input '{}'", args.input);
  }
  std::istream& in = args.input.empty() ? std::cin : file;
  std::string text(std::istreambuf_iterator<char>(in), {});
  if (auto bad = data::find_invalid_utf8(text))
    fail("{}: invalid UTF-8 at byte {}", args.input.empty() ? "<stdin>" : args.input, *bad);
  std::string out;
  append_ids(tokenizer.encode(text), out);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

void run_encode(const CodecArgs& args) {
  data::Tokenizer tokenizer = data::Tokenizer::load(args.tokenizer);
  if (args.document == "file") return encode_whole_input(tokenizer, args);
  std::string out;
  for_each_line_batch(args.input, [&](const std::vector<std::string>& lines, size_t first_line) {
    for (size_t i = 0; i < lines.size(); ++i)
      if (auto bad = data::find_invalid_utf8(lines[i]))
        fail("{}:{}: invalid UTF-8 at byte {}", args.input.empty() ? "<stdin>" : args.input, first_line + i, *bad);
    std::vector<std::vector<int32_t>> ids = tokenizer.encode_batch(lines, args.threads);
    out.clear();
    for (const auto& line_ids : ids) append_ids(line_ids, out);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
  std::fflush(stdout);
}

void run_decode(const CodecArgs& args) {
  data::Tokenizer tokenizer = data::Tokenizer::load(args.tokenizer);
  std::string out;
  std::vector<int32_t> ids;
  for_each_line_batch(args.input, [&](const std::vector<std::string>& lines, size_t first_line) {
    out.clear();
    for (size_t i = 0; i < lines.size(); ++i) {
      ids.clear();
      const char* cursor = lines[i].c_str();
      char* end = nullptr;
      while (true) {
        while (*cursor == ' ' || *cursor == '\t' || *cursor == '\r') ++cursor;
        if (*cursor == '\0') break;
        long value = std::strtol(cursor, &end, 10);
        if (end == cursor || (*end != '\0' && *end != ' ' && *end != '\t' && *end != '\r'))
          fail_usage("{}:{}: expected space-separated token ids", args.input.empty() ? "<stdin>" : args.input,
                     first_line + i);
        ids.push_back(int32_t(value));
        cursor = end;
      }
      out += tokenizer.decode(ids);
      out += '\n';
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
  std::fflush(stdout);
}

}  // namespace

void register_tokenizer(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenizer", "Train, encode and decode with byte-level BPE tokenizer.json files");
  cmd->require_subcommand(1);

  static TrainArgs train;
  auto* train_cmd = cmd->add_subcommand("train", "Train a tokenizer.json from text / JSONL files");
  train_cmd->add_option("--input", train.inputs,
                        "Training files, directories (recursive; names starting with '.' skipped) or glob patterns "
                        "(.jsonl: one JSON object per line)")
      ->required();
  train_cmd->add_option("--exclude", train.excludes,
                        "Skip files matching a pattern (as `data prepare --exclude`: the file name, or with '/' the path)");
  train_cmd->add_option("--vocab-size", train.vocab_size, "Vocabulary size (special + 256 byte + merged tokens)")
      ->required();
  train_cmd
      ->add_option("--out", train.out,
                   "Output tokenizer.json, written atomically; an existing file is replaced only when it is a "
                   "tokenizer.json, never when it is an input")
      ->required();
  train_cmd->add_option("--special", train.specials,
                        "Extra special tokens (always included: <|bos|> <|eos|> <|pad|> <think> </think> <answer> "
                        "</answer>)");
  train_cmd->add_option("--min-frequency", train.min_frequency, "Never merge a pair seen fewer times")
      ->capture_default_str();
  train_cmd->add_option("--field", train.field, "Document field of .jsonl inputs")->capture_default_str();
  train_cmd->add_option("--threads", train.threads, "Word-counting threads (0: all cores)")
      ->check(thread_count(0))
      ->capture_default_str();
  train_cmd->add_option("--digits", train.digits,
                        "How numbers are pre-split: 'grouped' (runs of 1-3 digits, Llama-3 / GPT-4) or 'single' "
                        "(one digit per piece, Qwen2)")
      ->check(CLI::IsMember({"grouped", "single"}))
      ->capture_default_str();
  train_cmd->callback([] { run_train(train); });

  static CodecArgs encode;
  auto* encode_cmd = cmd->add_subcommand(
      "encode", "Encode each input line (or, with --document file, the whole input) to a line of space-separated ids");
  encode_cmd->add_option("--tokenizer", encode.tokenizer, "tokenizer.json")->required()->check(CLI::ExistingFile);
  encode_cmd->add_option("--input", encode.input, "Text file (default: stdin)")->check(CLI::ExistingFile);
  encode_cmd->add_option("--document", encode.document,
                         "line: every line is encoded on its own (newlines not encoded); file: the whole input is one "
                         "document, newlines included, as `data prepare --document file` encodes it")
      ->check(CLI::IsMember({"line", "file"}))
      ->capture_default_str();
  encode_cmd->add_option("--threads", encode.threads, "Encoding threads (0: all cores)")
      ->check(thread_count(0))
      ->capture_default_str();
  encode_cmd->callback([] { run_encode(encode); });

  static CodecArgs decode;
  auto* decode_cmd = cmd->add_subcommand("decode", "Decode each line of space-separated ids to a line of text");
  decode_cmd->add_option("--tokenizer", decode.tokenizer, "tokenizer.json")->required()->check(CLI::ExistingFile);
  decode_cmd->add_option("--input", decode.input, "Ids file (default: stdin)")->check(CLI::ExistingFile);
  decode_cmd->callback([] { run_decode(decode); });
}

}  // namespace ember::apps
