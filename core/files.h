// Crash-safe file helpers: every file Ember writes goes to a temporary name in the same directory,
// is flushed with fsync, and is renamed into place, so a reader never sees half a file.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace ember {

/// Reads a whole file. Throws ember::Error naming the file when it is missing or unreadable.
std::string read_file(const std::filesystem::path& path);

/// Writes `contents` to `path` atomically (temporary file, fsync, rename, fsync of the directory).
/// Throws ember::Error naming the file and the system error (disk full, permission) on failure;
/// an existing file at `path` is then left untouched.
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

/// fsyncs a file or directory; throws ember::Error on failure.
void fsync_path(const std::filesystem::path& path);

/// Creates a directory (and parents); throws ember::Error naming it on failure.
void make_directories(const std::filesystem::path& path);

}  // namespace ember
