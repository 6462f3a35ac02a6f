// Refusing outputs that would overwrite a user's files (see output_path.h).
#include "core/output_path.h"

#include <sys/stat.h>

#include "core/error.h"

namespace fs = std::filesystem;

namespace ember {

bool same_file(const fs::path& a, const fs::path& b) {
  struct stat first {}, second {};
  if (::stat(a.c_str(), &first) != 0 || ::stat(b.c_str(), &second) != 0) return false;
  return first.st_dev == second.st_dev && first.st_ino == second.st_ino;
}

void check_output_path(const CommandOutput& output, const std::vector<CommandInput>& inputs) {
  const std::string& option = output.option;
  const fs::path& path = output.path;
  if (path.empty()) fail_usage("{} must name a file", option);
  for (const CommandInput& input : inputs) {
    if (same_file(path, input.path)) {
      fail_usage("{} '{}' is the file given as {} '{}': a command never writes over its own inputs; choose "
                 "another {}",
                 option, path.string(), input.option, input.path.string(), option);
    }
  }
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) return;
  if (fs::is_directory(status)) fail_usage("{} '{}' is a directory; give the path of a file", option, path.string());
  if (!output.is_same_kind(path)) {
    fail_usage("{} '{}' already exists and is not {} (only a previous output of this command is replaced); "
               "remove it or choose another {}",
               option, path.string(), output.kind, option);
  }
}

}  // namespace ember
