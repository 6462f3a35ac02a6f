// The run directory's rules (see run_dir.h): lock, same model, same schedule, no silent rewind.
#include "train/run_dir.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "core/config/loader.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "checkpoint/resolve.h"
#include "checkpoint/run_files.h"

namespace fs = std::filesystem;

namespace ember::train {
namespace {

constexpr const char* kLockFile = ".lock";

std::string utc_now(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[64];
  std::strftime(text, sizeof text, format, &utc);
  return text;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown host";
  return name;
}

/// The holder recorded in an open lock file ("" when empty).
std::string read_holder(int fd) {
  std::string text;
  char buffer[512];
  if (lseek(fd, 0, SEEK_SET) < 0) return text;
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, size_t(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

void write_holder(int fd, const fs::path& path) {
  const std::string holder = fmt::format("pid {} on host {}, started {}\n", ::getpid(), host_name(),
                                         utc_now("%Y-%m-%dT%H:%M:%SZ"));
  if (ftruncate(fd, 0) != 0 || pwrite(fd, holder.data(), holder.size(), 0) != ssize_t(holder.size())) {
    fail("cannot write the run lock '{}': {}", path.string(), std::strerror(errno));
  }
}

std::string yaml_text(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

/// A checkpoint config's keys under `prefix` (e.g. "optim."), applied to `schema`.
void apply_saved_keys(config::Schema& schema, const std::string& config_yaml, const std::string& prefix) {
  const auto raw = config::load_text(config_yaml, "a checkpoint's saved config");
  config::RawConfig selected;
  for (const auto& key : raw.keys()) {
    if (key.rfind(prefix, 0) == 0 && schema.find(key) != nullptr) selected.set(key, raw.at(key));
  }
  schema.apply(selected);
}

/// The step of a checkpoint directory from its name (step_NNNNNN).
int64_t step_of(const fs::path& checkpoint_dir) {
  const auto name = checkpoint_dir.filename().string();
  try {
    return std::stoll(name.substr(name.find('_') + 1));
  } catch (const std::exception&) {
    fail("'{}' is not named step_<number>", checkpoint_dir.string());
  }
}

}  // namespace

RunDirectoryLock::RunDirectoryLock(fs::path run_dir, int fd, bool created)
    : run_dir_(std::move(run_dir)), fd_(fd), created_(created) {}

RunDirectoryLock::RunDirectoryLock(RunDirectoryLock&& other) noexcept
    : run_dir_(std::move(other.run_dir_)), fd_(other.fd_), created_(other.created_), keep_(other.keep_) {
  other.fd_ = -1;
}

RunDirectoryLock RunDirectoryLock::acquire(const fs::path& run_dir) {
  std::error_code ec;
  const bool created = !fs::exists(run_dir, ec);
  make_directories(run_dir);
  const auto path = run_dir / kLockFile;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot open the run lock '{}': {}", path.string(), std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = read_holder(fd);
    ::close(fd);
    if (error == EWOULDBLOCK) {
      fail("run.dir '{}' is in use by another run ({}; lock file '{}'): wait for it to finish or choose another "
           "run.dir", run_dir.string(), holder.empty() ? "holder unknown" : holder, path.string());
    }
    fail("cannot lock '{}': {}", path.string(), std::strerror(error));
  }
  if (const auto stale = read_holder(fd); !stale.empty()) {
    log::warn("run.dir '{}': taking over the lock left by {}, which ended without releasing it (killed or crashed)",
              run_dir.string(), stale);
  }
  write_holder(fd, path);
  return RunDirectoryLock(run_dir, fd, created);
}

RunDirectoryLock::~RunDirectoryLock() {
  if (fd_ < 0) return;
  std::error_code ec;
  if (created_ && !keep_) {  // a refused run leaves no directory behind
    fs::remove(run_dir_ / kLockFile, ec);
    fs::remove(run_dir_, ec);  // only when empty
  } else if (ftruncate(fd_, 0) != 0) {  // a clean release leaves an empty (not stale) lock file
    log::warn("cannot clear the run lock in '{}': {}", run_dir_.string(), std::strerror(errno));
  }
  ::close(fd_);  // releases the flock
}

std::vector<std::string> model_config_differences(const model::ModelConfig& checkpoint, const model::ModelConfig& run) {
  model::ModelConfig saved_copy = checkpoint, run_copy = run;
  config::Schema saved_schema, run_schema;
  describe_model(saved_schema, saved_copy);
  describe_model(run_schema, run_copy);
  std::vector<std::string> differences;
  for (const auto& field : run_schema.fields()) {
    const auto saved_value = yaml_text(saved_schema.find(field.key())->emit());
    const auto run_value = yaml_text(field.emit());
    if (saved_value != run_value) {
      differences.push_back(fmt::format("{}: checkpoint {}, this run {}", field.key(), saved_value, run_value));
    }
  }
  return differences;
}

void check_same_model(const fs::path& checkpoint_dir, const model::ModelConfig& run) {
  const auto differences = model_config_differences(checkpoint::read_model_config(checkpoint_dir), run);
  if (differences.empty()) return;
  fail_usage("cannot resume from '{}': it was trained as another model ({}); resume with the checkpoint's model "
             "config, or start a new run.dir", checkpoint_dir.string(), fmt::join(differences, "; "));
}

ScheduleOptions run_schedule(const OptimConfig& optim, int64_t train_steps, int64_t updates_per_step) {
  const int64_t steps = optim.schedule_steps > 0 ? optim.schedule_steps : train_steps;
  return {optim.schedule, optim.lr, optim.min_lr_ratio, optim.warmup_steps, steps * updates_per_step,
          optim.decay_fraction};
}

nlohmann::json schedule_json(const ScheduleOptions& s) {
  return {{"kind", s.kind},           {"peak_lr", s.peak_lr},         {"min_lr_ratio", s.min_lr_ratio},
          {"warmup_steps", s.warmup_steps}, {"total_steps", s.total_steps}, {"decay_fraction", s.decay_fraction}};
}

ScheduleOptions saved_schedule(const nlohmann::json& state, const std::string& config_yaml, int64_t updates_per_step) {
  if (state.contains("schedule")) {
    const auto& j = state["schedule"];
    return {j.at("kind").get<std::string>(),     j.at("peak_lr").get<double>(),
            j.at("min_lr_ratio").get<double>(),  j.at("warmup_steps").get<int64_t>(),
            j.at("total_steps").get<int64_t>(),  j.at("decay_fraction").get<double>()};
  }
  OptimConfig optim;
  TrainConfig train;
  config::Schema optim_schema, train_schema;
  describe_optim(optim_schema, optim);
  describe_train(train_schema, train);
  apply_saved_keys(optim_schema, config_yaml, "optim.");
  apply_saved_keys(train_schema, config_yaml, "train.");
  return run_schedule(optim, train.steps, updates_per_step);
}

std::vector<std::string> schedule_differences(const ScheduleOptions& saved, const ScheduleOptions& run) {
  std::vector<std::string> out;
  auto compare = [&](const char* term, auto before, auto after) {
    if (before != after) out.push_back(fmt::format("{} {} -> {}", term, before, after));
  };
  compare("optim.schedule", saved.kind, run.kind);
  compare("peak lr (optim.lr)", saved.peak_lr, run.peak_lr);
  compare("optim.warmup_steps", saved.warmup_steps, run.warmup_steps);
  if (saved.kind != "constant" || run.kind != "constant") {
    compare("optim.min_lr_ratio", saved.min_lr_ratio, run.min_lr_ratio);
    compare("schedule length in optimizer steps (optim.schedule_steps, or train.steps)", saved.total_steps,
            run.total_steps);
  }
  if (saved.kind == "wsd" || run.kind == "wsd") compare("optim.decay_fraction", saved.decay_fraction, run.decay_fraction);
  return out;
}

void check_schedule(const fs::path& checkpoint_dir, const ScheduleOptions& saved, const ScheduleOptions& run,
                    int64_t next_update, bool allowed) {
  const auto changes = schedule_differences(saved, run);
  if (changes.empty()) return;
  const auto what = fmt::format("resuming from '{}' changes the learning-rate schedule: {}; the lr of the next "
                                "update would be {:.4g} instead of {:.4g}", checkpoint_dir.string(),
                                fmt::join(changes, ", "), learning_rate(run, next_update),
                                learning_rate(saved, next_update));
  if (!allowed) {
    fail_usage("{}. Resume with the same schedule (set optim.schedule_steps to the final length when a run will be "
               "extended), or set checkpoint.allow_schedule_change=true to accept the change", what);
  }
  log::warn("{} (checkpoint.allow_schedule_change=true)", what);
}

std::vector<fs::path> checkpoints_after(const fs::path& run_dir, int64_t step) {
  std::vector<fs::path> newer;
  for (const auto& dir : checkpoint::list_checkpoints(run_dir)) {
    if (step_of(dir) > step) newer.push_back(dir);
  }
  return newer;
}

std::vector<fs::path> check_rewind(const fs::path& run_dir, int64_t step, bool rewind) {
  auto newer = checkpoints_after(run_dir, step);
  if (newer.empty() || rewind) return newer;
  fail_usage("run.dir '{}' holds {} checkpoint(s) after step {} (newest '{}') that this run would overwrite or "
             "prune: resume from the newest (checkpoint.resume=auto), choose another run.dir, or set "
             "checkpoint.rewind=true to move them to '{}' and continue from step {}",
             run_dir.string(), newer.size(), step, newer.front().string(), (run_dir / "rewound").string(), step);
}

void rewind_checkpoints(const fs::path& run_dir, const std::vector<fs::path>& newer) {
  if (newer.empty()) return;
  const auto destination = run_dir / "rewound" / utc_now("%Y%m%dT%H%M%SZ");
  make_directories(destination);
  for (const auto& dir : newer) {
    std::error_code ec;
    fs::rename(dir, destination / dir.filename(), ec);
    if (ec) fail("cannot move '{}' to '{}': {}", dir.string(), destination.string(), ec.message());
  }
  std::error_code ec;
  if (fs::exists(run_dir / "metrics.jsonl", ec)) {
    fs::copy_file(run_dir / "metrics.jsonl", destination / "metrics.jsonl", ec);
    if (ec) fail("cannot copy metrics.jsonl to '{}': {}", destination.string(), ec.message());
  }
  fsync_path(run_dir / "checkpoints");
  log::warn("checkpoint.rewind: moved {} newer checkpoint(s) and a copy of metrics.jsonl to '{}'", newer.size(),
            destination.string());
}

}  // namespace ember::train
