// The guard every command that writes a user-named file runs before any work, so that no command
// writes over a path it did not create:
//   - the output must not be one of the command's inputs (the same file by device and inode, so
//     symbolic links, hard links and "./x" vs "x" are caught);
//   - the output must not be a directory;
//   - an existing output is replaced only when it already holds what this command writes (a token
//     store for `data prepare`, a tokenizer.json for `tokenizer train`, ...): the command passes a
//     recogniser for its own kind of file. A corpus, a config, a checkpoint, anything else is
//     refused, and the user removes it or picks another path.
// Every refusal is an ember::UsageError (exit 2) naming the option, the path and the reason.
// The writing itself stays atomic (core/files.h: temporary name, fsync, rename), so an interrupted
// command never leaves a half-written output at the path either.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace ember {

/// One file a command reads, with the option that named it ("--input", "--tokenizer").
struct CommandInput {
  std::string option;
  std::filesystem::path path;
};

/// What a command writes: the option naming it, a description of its kind ("a token store"), and
/// a recogniser that returns true when an existing file already holds that kind of output.
struct CommandOutput {
  std::string option;
  std::filesystem::path path;
  std::string kind;
  std::function<bool(const std::filesystem::path&)> is_same_kind;
};

/// Throws ember::UsageError when `output` may not be written (see the rules at the top).
void check_output_path(const CommandOutput& output, const std::vector<CommandInput>& inputs);

/// True when `a` and `b` both exist and are the same file (device and inode).
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace ember
