// All-or-nothing outputs. An exporter writes into a hidden sibling of its destination
// (".NAME.tmp-PID"); commit() fsyncs and renames it into place, and a StagedOutput destroyed
// without commit() (an exception on the way) removes it, so a failed export or import leaves
// nothing behind. An existing destination is replaced only when `replaceable` says it is a
// previous output of the same kind; anything else is refused before any work.
#pragma once

#include <filesystem>
#include <functional>

namespace ember::exporting {

class StagedOutput {
 public:
  enum class Kind { kDirectory, kFile };

  /// Checks the destination and creates the staging directory (Kind::kDirectory) or reserves the
  /// staging file name (Kind::kFile). Throws ember::UsageError when `destination` exists and
  /// `replaceable(destination)` is false.
  StagedOutput(std::filesystem::path destination, Kind kind,
               const std::function<bool(const std::filesystem::path&)>& replaceable);
  StagedOutput(const StagedOutput&) = delete;
  StagedOutput& operator=(const StagedOutput&) = delete;
  ~StagedOutput();

  /// Where to write now: the staging directory or file.
  const std::filesystem::path& path() const { return staging_; }
  const std::filesystem::path& destination() const { return destination_; }

  /// Moves the staged output to the destination (replacing a previous one). Throws ember::Error.
  void commit();

 private:
  std::filesystem::path destination_;
  std::filesystem::path staging_;
  Kind kind_;
  bool committed_ = false;
};

/// True for a missing path or an empty directory.
bool is_absent_or_empty_directory(const std::filesystem::path& path);

}  // namespace ember::exporting
