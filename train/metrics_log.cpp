// metrics.jsonl writing and resume truncation; forwards the same scalars to TensorBoard.
#include "train/metrics_log.h"

#include <cmath>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"

namespace ember::train {
namespace {

using OrderedJson = nlohmann::ordered_json;

// The step of a complete metrics line, or nullopt for a line that is torn or not a metrics object.
std::optional<int64_t> step_of_line(std::string_view line) {
  auto parsed = OrderedJson::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return std::nullopt;
  auto step = parsed.find("step");
  if (step == parsed.end() || !step->is_number_integer()) return std::nullopt;
  return step->get<int64_t>();
}

std::string metrics_line(int64_t step, const std::vector<std::pair<std::string, double>>& scalars,
                         const std::filesystem::path& path) {
  OrderedJson line;
  line["step"] = step;
  for (const auto& [name, value] : scalars) {
    if (name == "step") fail("a metric may not be named 'step' ({})", path.string());
    if (line.contains(name)) fail("metric '{}' given twice in one call ({})", name, path.string());
    line[name] = std::isfinite(value) ? OrderedJson(value) : OrderedJson(nullptr);
  }
  return line.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

}  // namespace

MetricsLog::MetricsLog(const std::filesystem::path& run_dir, bool tensorboard)
    : jsonl_path_(run_dir / "metrics.jsonl") {
  make_directories(run_dir);
  open_jsonl();
  if (tensorboard) tensorboard_.emplace(run_dir);
}

void MetricsLog::open_jsonl() {
  jsonl_.open(jsonl_path_, std::ios::out | std::ios::app | std::ios::binary);
  if (!jsonl_) fail("cannot open {} for appending", jsonl_path_.string());
}

void MetricsLog::truncate_from(int64_t step) {
  truncated_ = true;
  if (tensorboard_) {
    tensorboard_->mark_restart(step);
    tensorboard_->flush();
  }
  jsonl_.close();
  std::string contents = read_file(jsonl_path_);
  std::string kept;
  size_t dropped = 0;
  size_t unreadable = 0;
  size_t begin = 0;
  while (begin < contents.size()) {
    size_t end = contents.find('\n', begin);
    bool complete = end != std::string::npos;
    std::string_view line(contents.data() + begin, (complete ? end : contents.size()) - begin);
    begin = complete ? end + 1 : contents.size();
    if (line.empty()) continue;
    std::optional<int64_t> line_step = complete ? step_of_line(line) : std::nullopt;
    if (!line_step) {
      ++unreadable;
    } else if (*line_step >= step) {
      ++dropped;
    } else {
      kept.append(line);
      kept.push_back('\n');
    }
  }
  if (unreadable > 0) {
    log::warn("{}: dropped {} torn or unreadable line(s)", jsonl_path_.string(), unreadable);
  }
  if (dropped > 0) {
    log::info("{}: resuming at step {}, dropped {} line(s) logged at or after it",
              jsonl_path_.string(), step, dropped);
  }
  if (kept.size() != contents.size()) write_file_atomic(jsonl_path_, kept);
  open_jsonl();
}

void MetricsLog::log(int64_t step, const std::vector<std::pair<std::string, double>>& scalars) {
  if (!truncated_) truncate_from(step);
  jsonl_ << metrics_line(step, scalars, jsonl_path_) << '\n';
  if (tensorboard_) tensorboard_->add_scalars(step, scalars);
  flush();
}

void MetricsLog::flush() {
  jsonl_.flush();
  if (!jsonl_) fail("cannot write {}", jsonl_path_.string());
  if (tensorboard_) tensorboard_->flush();
}

}  // namespace ember::train
