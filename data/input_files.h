// The files `ember data prepare` reads: its --input arguments expanded into one sorted list.
//
//   a regular file        itself (even when its name starts with '.')
//   a directory           every regular file below it, recursively; names starting with '.'
//                         (.git, .venv, .DS_Store, ...) are skipped, as are symbolic links to
//                         directories (no cycles)
//   anything else         a glob pattern (POSIX glob: *, ?, [...]); each match is expanded as
//                         above, so `src/*` takes the files of every folder in src
//
// --exclude patterns (fnmatch) drop files: a pattern without '/' is matched against the file name
// ("*.lock"), one with '/' against the whole path as expanded ("docs/build/*", where '*' also
// matches '/'). The result is sorted by path (byte order) and deduplicated, so the same arguments
// give the same file order, and hence the same token store, on every machine.
#pragma once

#include <string>
#include <vector>

namespace ember::data {

/// The files named by `inputs`, minus those matching `excludes`, sorted and unique. Throws
/// ember::UsageError naming the argument when an input is neither a file, a directory nor a
/// pattern matching something, and when nothing is left.
std::vector<std::string> expand_input_files(const std::vector<std::string>& inputs,
                                            const std::vector<std::string>& excludes);

/// True when `path` matches one of the --exclude patterns (rules above).
bool is_excluded(const std::string& path, const std::vector<std::string>& excludes);

}  // namespace ember::data
