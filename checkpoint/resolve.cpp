// Listing, resolving and choosing checkpoints (see resolve.h).
#include "checkpoint/resolve.h"

#include <algorithm>

#include "checkpoint/manifest.h"
#include "checkpoint/verify.h"
#include "core/error.h"
#include "core/log.h"

namespace fs = std::filesystem;

namespace ember::checkpoint {

std::vector<fs::path> list_checkpoints(const fs::path& run_dir) {
  std::vector<fs::path> found;
  std::error_code ec;
  const auto dir = run_dir / "checkpoints";
  if (!fs::is_directory(dir, ec)) return found;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory() && step_of_name(entry.path().filename().string()) &&
        fs::is_regular_file(entry.path() / kManifestName, ec)) {
      found.push_back(entry.path());
    }
  }
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return *step_of_name(a.filename().string()) > *step_of_name(b.filename().string());
  });
  return found;
}

fs::path resolve_checkpoint(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("checkpoint path '{}' does not exist", path.string());
  if (fs::is_regular_file(path / kManifestName, ec)) return path;
  auto found = list_checkpoints(path);
  if (!found.empty()) return found.front();
  fail("'{}' is neither a checkpoint (no {}) nor a run directory with complete checkpoints", path.string(),
       kManifestName);
}

std::optional<fs::path> find_resume_checkpoint(const fs::path& run_dir, const std::string& resume, bool fall_back) {
  if (resume == "none") return std::nullopt;
  if (resume != "auto") {
    auto dir = resolve_checkpoint(resume);
    verify_checkpoint(dir);
    return dir;
  }
  for (const auto& dir : list_checkpoints(run_dir)) {
    try {
      verify_checkpoint(dir);
      return dir;
    } catch (const Error& e) {
      if (!fall_back) {
        fail("{} (checkpoint.on_corrupt=stop; set it to fallback to resume from the previous one)", e.what());
      }
      log::error("{}; falling back to the previous checkpoint", e.what());
    }
  }
  return std::nullopt;
}

}  // namespace ember::checkpoint
