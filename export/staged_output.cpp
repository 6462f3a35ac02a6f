// Staged, all-or-nothing export outputs (see staged_output.h).
#include "export/staged_output.h"

#include <unistd.h>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"

namespace fs = std::filesystem;

namespace ember::exporting {

bool is_absent_or_empty_directory(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return true;
  return fs::is_directory(path, ec) && fs::is_empty(path, ec);
}

StagedOutput::StagedOutput(fs::path destination, Kind kind, const std::function<bool(const fs::path&)>& replaceable)
    : destination_(std::move(destination)), kind_(kind) {
  if (destination_.filename().empty()) destination_ = destination_.parent_path();  // "out/" -> "out"
  std::error_code ec;
  if (fs::exists(destination_, ec) && !replaceable(destination_)) {
    fail_usage("'{}' already exists and is not a previous output of this command; choose another --out",
               destination_.string());
  }
  const fs::path parent = destination_.has_parent_path() ? destination_.parent_path() : fs::path(".");
  make_directories(parent);
  staging_ = parent / fmt::format(".{}.tmp-{}", destination_.filename().string(), ::getpid());
  fs::remove_all(staging_, ec);
  if (kind_ == Kind::kDirectory) make_directories(staging_);
}

StagedOutput::~StagedOutput() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void StagedOutput::commit() {
  if (kind_ == Kind::kDirectory) fsync_path(staging_);
  std::error_code ec;
  if (fs::exists(destination_, ec)) {
    fs::remove_all(destination_, ec);
    if (ec) fail("cannot replace '{}': {}", destination_.string(), ec.message());
  }
  fs::rename(staging_, destination_, ec);
  if (ec) fail("cannot move '{}' to '{}': {}", staging_.string(), destination_.string(), ec.message());
  fsync_path(destination_.has_parent_path() ? destination_.parent_path() : fs::path("."));
  committed_ = true;
}

}  // namespace ember::exporting
