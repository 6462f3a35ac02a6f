// Throughput, MFU and the console progress line (see progress.h).
#include "train/progress.h"

#include <cmath>

#include <fmt/format.h>

namespace ember::train {

Progress::Progress(int64_t total_steps, double peak_flops) : total_steps_(total_steps), peak_flops_(peak_flops) {}

void Progress::start(int64_t step) {
  started_ = Clock::now();
  start_step_ = step;
  tokens_ = 0;
  flops_ = seconds_ = 0;
}

void Progress::add_step(int64_t tokens, double flops, double seconds) {
  tokens_ += tokens;
  flops_ += flops;
  seconds_ += seconds;
}

Progress::Rates Progress::mark() {
  Rates rates;
  if (seconds_ > 0) {
    rates.tokens_per_s = double(tokens_) / seconds_;
    rates.mfu = peak_flops_ > 0 ? flops_ / seconds_ / peak_flops_ : 0;
  }
  tokens_ = 0;
  flops_ = seconds_ = 0;
  return rates;
}

double Progress::elapsed_s() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }

std::string Progress::line(int64_t step, const Scalars& scalars, const std::vector<ConsoleField>& fields,
                           const Rates& rates) const {
  std::string out = fmt::format("step {}/{}", step, total_steps_);
  for (const auto& field : fields) {
    if (!scalars.contains(field.name)) continue;
    out += fmt::format(" | {} {}", field.label, fmt::format(fmt::runtime(field.format), scalars.at(field.name)));
  }
  const double per_step = step > start_step_ ? elapsed_s() / double(step - start_step_) : 0;
  const std::string speed = rates.tokens_per_s >= 1e3 ? fmt::format("{:.1f}k", rates.tokens_per_s / 1e3)
                                                       : fmt::format("{:.0f}", rates.tokens_per_s);
  return out + fmt::format(" | {} tok/s | MFU {:.1f}% | ETA {}", speed, rates.mfu * 100,
                           format_duration(per_step * double(total_steps_ - step)));
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto total = int64_t(std::llround(seconds));
  if (total >= 3600) return fmt::format("{}h{:02d}m", total / 3600, (total % 3600) / 60);
  if (total >= 60) return fmt::format("{}m{:02d}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}

}  // namespace ember::train
