// Test fixture for tests/interop/test_tensorboard_events.py: logs given scalars through
// MetricsLog (metrics.jsonl + TensorBoard events) into a directory, as the trainer would.
//
//   write_events_fixture DIR STEP:NAME=VALUE[,NAME=VALUE...] [STEP:...]...
//
// Each STEP argument is one log() call; VALUE is parsed by strtod, so "nan" and "inf" work. Run it
// again on the same DIR with a lower first step to act out a resume.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "train/metrics_log.h"

namespace {

struct LoggedStep {
  int64_t step = 0;
  std::vector<std::pair<std::string, double>> scalars;
};

bool parse_step(const std::string& text, int64_t& step) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), step);
  return error == std::errc() && end == text.data() + text.size();
}

bool parse_number(const std::string& text, double& value) {
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return !text.empty() && *end == '\0';
}

bool parse_logged_step(const std::string& argument, LoggedStep& out) {
  size_t colon = argument.find(':');
  if (colon == std::string::npos) return false;
  if (!parse_step(argument.substr(0, colon), out.step)) return false;
  for (const std::string& assignment : ember::split(argument.substr(colon + 1), ',')) {
    size_t equals = assignment.find('=');
    double value = 0;
    if (equals == std::string::npos || equals == 0) return false;
    if (!parse_number(assignment.substr(equals + 1), value)) return false;
    out.scalars.emplace_back(assignment.substr(0, equals), value);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: write_events_fixture DIR STEP:NAME=VALUE[,NAME=VALUE...]...\n");
    return 2;
  }
  std::vector<LoggedStep> steps;
  for (int i = 2; i < argc; ++i) {
    LoggedStep step;
    if (!parse_logged_step(argv[i], step)) {
      std::fprintf(stderr, "write_events_fixture: bad argument '%s'\n", argv[i]);
      return 2;
    }
    steps.push_back(std::move(step));
  }
  try {
    ember::train::MetricsLog metrics(argv[1], /*tensorboard=*/true);
    for (const LoggedStep& step : steps) metrics.log(step.step, step.scalars);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "write_events_fixture: %s\n", error.what());
    return 1;
  }
  return 0;
}
