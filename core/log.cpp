// Rank-aware spdlog setup (see log.h).
#include "core/log.h"

#include <cstdlib>

#include <spdlog/sinks/stdout_color_sinks.h>

#include "core/error.h"

namespace ember::log {
namespace {

spdlog::level::level_enum requested_level = spdlog::level::info;
bool level_was_set = false;

void apply_pattern(int rank, int world_size) {
  if (world_size > 1) {
    spdlog::set_pattern(fmt::format("[%H:%M:%S] [rank {}] [%^%l%$] %v", rank));
  } else {
    spdlog::set_pattern("[%H:%M:%S] [%^%l%$] %v");
  }
}

}  // namespace

void init() {
  auto logger = spdlog::stderr_color_mt("ember");
  spdlog::set_default_logger(logger);
  apply_pattern(0, 1);
  spdlog::set_level(requested_level);
}

const char* level_names() { return "trace, debug, info, warn, error, off"; }

void set_level(const std::string& level_name) {
  auto level = spdlog::level::from_str(level_name);
  if (level == spdlog::level::off && level_name != "off") {
    fail_usage("unknown log level '{}' (expected one of: {})", level_name, level_names());
  }
  requested_level = level;
  level_was_set = true;
  spdlog::set_level(level);
}

void set_rank(int rank, int world_size) {
  apply_pattern(rank, world_size);
  const char* all = std::getenv("EMBER_LOG_ALL_RANKS");
  bool all_ranks = all != nullptr && std::string(all) == "1";
  if (rank != 0 && !all_ranks && !(level_was_set && requested_level < spdlog::level::info)) {
    spdlog::set_level(std::max(requested_level, spdlog::level::warn));
  } else {
    spdlog::set_level(requested_level);
  }
}

}  // namespace ember::log
