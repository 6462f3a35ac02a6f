// The output check of each command that writes a user-named file: which inputs it must not write
// over, and which existing file it may replace (one that already holds its own kind of output).
// Each function throws ember::UsageError before any work (core/output_path.h has the rules).
#pragma once

#include <string>
#include <vector>

namespace ember::apps {

/// `data generate --out`: replaces only a JSONL file of generated examples.
void check_examples_output(const std::string& out);

/// `data prepare --out` (and its shards NAME-00000.h5, ... with --shard-tokens): replaces only
/// token stores, never one of the --input files or the --tokenizer.
void check_token_store_output(const std::string& out, bool sharded, const std::vector<std::string>& inputs,
                              const std::string& tokenizer);

/// `tokenizer train --out`: replaces only a tokenizer.json, never one of the --input files.
void check_tokenizer_output(const std::string& out, const std::vector<std::string>& inputs);

/// `distill dump-teacher --out`: replaces only a teacher-logits file, never one of the --data stores.
void check_teacher_logits_output(const std::string& out, const std::vector<std::string>& data);

}  // namespace ember::apps
