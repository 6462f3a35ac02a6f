// --input expansion: files, recursive directories, glob patterns and --exclude (see input_files.h).
#include "data/input_files.h"

#include <fnmatch.h>
#include <glob.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"

namespace fs = std::filesystem;

namespace ember::data {
namespace {

bool is_hidden(const fs::path& path) {
  auto name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

// Every regular file below `directory`, skipping hidden entries and not following links to folders.
void add_directory(const fs::path& directory, std::vector<std::string>& files) {
  std::error_code error;
  fs::recursive_directory_iterator it(directory, fs::directory_options::skip_permission_denied, error);
  if (error) fail_usage("cannot list input directory '{}': {}", directory.string(), error.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) fail_usage("cannot list input directory '{}': {}", directory.string(), error.message());
    if (is_hidden(it->path())) {
      if (it->is_directory(error)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink(error) && it->is_directory(error)) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(error)) files.push_back(it->path().string());
  }
}

// A file or a directory; false when `path` is neither.
bool add_path(const fs::path& path, std::vector<std::string>& files) {
  std::error_code error;
  if (fs::is_regular_file(path, error)) {
    files.push_back(path.string());
    return true;
  }
  if (fs::is_directory(path, error)) {
    add_directory(path, files);
    return true;
  }
  return false;
}

std::vector<std::string> glob_matches(const std::string& pattern) {
  glob_t matches{};
  int rc = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &matches);
  std::vector<std::string> paths;
  if (rc == 0) paths.assign(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
  ::globfree(&matches);
  if (rc != 0 && rc != GLOB_NOMATCH) fail_usage("cannot expand --input pattern '{}' (glob error {})", pattern, rc);
  return paths;
}

}  // namespace

bool is_excluded(const std::string& path, const std::vector<std::string>& excludes) {
  const std::string name = fs::path(path).filename().string();
  for (const auto& pattern : excludes) {
    const bool whole_path = pattern.find('/') != std::string::npos;
    if (::fnmatch(pattern.c_str(), whole_path ? path.c_str() : name.c_str(), 0) == 0) return true;
  }
  return false;
}

std::vector<std::string> expand_input_files(const std::vector<std::string>& inputs,
                                            const std::vector<std::string>& excludes) {
  if (inputs.empty()) fail_usage("data prepare needs at least one --input (a file, a directory or a glob pattern)");
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    if (add_path(input, files)) continue;
    auto matches = glob_matches(input);
    if (matches.empty()) fail_usage("--input '{}' is not a file or a directory, and no path matches it", input);
    for (const auto& match : matches) add_path(match, files);
  }
  std::erase_if(files, [&](const std::string& file) { return is_excluded(file, excludes); });
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  if (files.empty()) fail_usage("--input names no files once --exclude is applied ({} inputs)", inputs.size());
  return files;
}

}  // namespace ember::data
