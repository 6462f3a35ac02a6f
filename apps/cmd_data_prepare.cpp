// `ember data prepare --input FILE... [--field text] --tokenizer T --out FILE.h5 [--shard-tokens N]
// [--compression N] [--eos TOKEN] [--threads N]`: tokenizes text / JSONL documents into an HDF5
// token store (docs/formats.md). Plain text: one document per blank-line-separated block; JSONL:
// one document per line, from the string field --field.
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "apps/cmd_data.h"
#include "apps/output_guards.h"
#include "core/stop_cleanup.h"
#include "data/token_store_prepare.h"
#include "data/tokenizer/tokenizer.h"

namespace ember::apps {

void register_data_prepare(CLI::App& data_cmd) {
  auto* cmd = data_cmd.add_subcommand("prepare", "Tokenize text / JSONL files into an HDF5 token store");
  struct Args {
    data::PrepareOptions prepare;
    std::string tokenizer;
  };
  static Args args;
  cmd->add_option("--input", args.prepare.inputs,
                  "Input files: plain text (documents separated by blank lines) or .jsonl (one document per line)")
      ->required();
  cmd->add_option("--field", args.prepare.jsonl_field, "Document field of .jsonl inputs")->capture_default_str();
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
    check_token_store_output(args.prepare.out, args.prepare.shard_tokens > 0, args.prepare.inputs, args.tokenizer);
    remove_temporaries_on_stop({args.prepare.out});
    auto tokenizer = data::Tokenizer::load(args.tokenizer);
    data::PrepareSummary summary = data::prepare_token_store(tokenizer, args.prepare);
    std::cout << fmt::format("wrote {} documents, {} tokens to {}\n", summary.documents, summary.tokens,
                             fmt::join(summary.files, " "));
  });
}

}  // namespace ember::apps
