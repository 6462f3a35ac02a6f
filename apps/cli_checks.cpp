// Readable numeric option checks (see cli_checks.h).
#include "apps/cli_checks.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include <fmt/format.h>

namespace ember::apps {
namespace {

/// The value of `text` when all of it is one finite number.
std::optional<double> number_of(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(value)) return std::nullopt;
  return value;
}

/// A validator that accepts a number for which `accept` holds, else says "must be <rule>, got X".
CLI::Validator numeric_check(const std::string& rule, std::function<bool(double)> accept) {
  return CLI::Validator(
      [rule, accept](std::string& text) -> std::string {
        auto value = number_of(text);
        if (!value) return fmt::format("must be a number {}, got '{}'", rule, text);
        if (!accept(*value)) return fmt::format("must be {}, got {}", rule, text);
        return {};
      },
      rule);
}

}  // namespace

CLI::Validator at_least(double low) {
  return numeric_check(fmt::format(">= {}", low), [low](double value) { return value >= low; });
}

CLI::Validator above(double low) {
  return numeric_check(fmt::format("> {}", low), [low](double value) { return value > low; });
}

CLI::Validator between(double low, double high) {
  return numeric_check(fmt::format("between {} and {}", low, high),
                       [low, high](double value) { return value >= low && value <= high; });
}

int max_threads() { return 4 * int(std::max(1u, std::thread::hardware_concurrency())); }

CLI::Validator thread_count(int low) {
  const int high = max_threads();
  return numeric_check(fmt::format("between {} and {} (4 x the hardware threads)", low, high),
                       [low, high](double value) { return value >= low && value <= high; });
}

}  // namespace ember::apps
