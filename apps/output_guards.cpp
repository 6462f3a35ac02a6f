// Per-command output checks (see output_guards.h): each names its inputs and recognises its own
// kind of file by opening it with the reader that validates that format.
#include "apps/output_guards.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/output_path.h"
#include "data/token_store.h"
#include "data/token_store_prepare.h"
#include "data/tokenizer/tokenizer.h"
#include "train/distill/teacher_logits_file.h"

namespace fs = std::filesystem;

namespace ember::apps {
namespace {

/// True when `open(path)` accepts the file (its reader throws ember::Error otherwise).
template <typename Open>
bool opens_as(const fs::path& path, Open&& open) {
  try {
    open(path);
    return true;
  } catch (const Error&) {
    return false;
  }
}

std::vector<CommandInput> named(const std::string& option, const std::vector<std::string>& paths) {
  std::vector<CommandInput> inputs;
  for (const auto& path : paths) inputs.push_back({option, path});
  return inputs;
}

/// `data generate`'s records: a JSON object per line with these fields (docs/formats.md).
bool is_examples_jsonl(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string first_line;
  if (!std::getline(in, first_line)) return false;
  const auto record = nlohmann::json::parse(first_line, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object()) return false;
  for (const char* field : {"task", "prompt", "solution", "answer", "text"})
    if (!record.contains(field)) return false;
  return true;
}

}  // namespace

void check_examples_output(const std::string& out) {
  check_output_path({"--out", out, "a JSONL file of generated examples", is_examples_jsonl}, {});
}

void check_token_store_output(const std::string& out, bool sharded, const std::vector<std::string>& inputs,
                              const std::string& tokenizer) {
  std::vector<CommandInput> read = named("--input", inputs);
  read.push_back({"--tokenizer", tokenizer});
  auto is_token_store = [](const fs::path& path) {
    return opens_as(path, [](const fs::path& p) { data::TokenStore::open(p.string()); });
  };
  if (!sharded) {
    check_output_path({"--out", out, "a token store", is_token_store}, read);
    return;
  }
  // Shards are numbered from 0; each existing one the run may write over is checked.
  std::error_code ec;
  for (int64_t index = 0; fs::exists(data::shard_path(out, index), ec); ++index) {
    check_output_path({"--out (shard)", data::shard_path(out, index), "a token store", is_token_store}, read);
  }
}

void check_tokenizer_output(const std::string& out, const std::vector<std::string>& inputs) {
  auto is_tokenizer = [](const fs::path& path) {
    return opens_as(path, [](const fs::path& p) { data::Tokenizer::load(p.string()); });
  };
  check_output_path({"--out", out, "a tokenizer.json", is_tokenizer}, named("--input", inputs));
}

void check_teacher_logits_output(const std::string& out, const std::vector<std::string>& data) {
  auto is_teacher_logits = [](const fs::path& path) {
    return opens_as(path, [](const fs::path& p) { train::distill::TeacherLogitsReader reader(p); });
  };
  check_output_path({"--out", out, "a teacher-logits file", is_teacher_logits}, named("--data", data));
}

}  // namespace ember::apps
