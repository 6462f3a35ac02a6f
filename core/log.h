// Rank-aware logging on spdlog. Every line carries "[rank R]" once a rank is known; only rank 0
// logs at info level by default (other ranks log warnings and errors), which `--log-level` and
// `EMBER_LOG_ALL_RANKS=1` change.
#pragma once

#include <string>

#include <spdlog/spdlog.h>

namespace ember::log {

/// Sends log lines to stderr (stdout is for command output) with Ember's pattern.
void init();

/// Sets the level from a name: trace, debug, info, warn, error, off. Throws UsageError otherwise.
void set_level(const std::string& level_name);

/// Records this process's rank and world size; non-zero ranks drop to warnings unless
/// EMBER_LOG_ALL_RANKS=1 or the level was set explicitly below info.
void set_rank(int rank, int world_size);

/// The level names accepted by set_level, for --help texts.
const char* level_names();

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;

}  // namespace ember::log
