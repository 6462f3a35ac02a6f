// Numeric checks for command-line options, with messages that state the bound as a person would
// ("--samples: must be >= 1, got 0"). CLI11's own PositiveNumber / NonNegativeNumber print the
// open end of their range as a 309-digit number, so every command uses these instead.
#pragma once

#include <CLI/CLI.hpp>

namespace ember::apps {

/// Accepts a number >= `low`.
CLI::Validator at_least(double low);

/// Accepts a number > `low` (for real-valued options such as a temperature above 0).
CLI::Validator above(double low);

/// Accepts a number in [low, high].
CLI::Validator between(double low, double high);

/// The most threads an option accepts: 4 x the hardware threads. Far more only slows every
/// step down (a thread count in the thousands never reaches step 1).
int max_threads();

/// Accepts a thread count in [low, max_threads()].
CLI::Validator thread_count(int low);

}  // namespace ember::apps
