// Throughput, MFU and the console progress line (see progress.h).
#include "train/progress.h"

#include <cmath>

#include <fmt/format.h>

namespace ember::train {

Progress::Progress(int64_t total_steps, double flops_per_token, double peak_flops)
    : total_steps_(total_steps), flops_per_token_(flops_per_token), peak_flops_(peak_flops) {}

void Progress::start(int64_t step) {
  started_ = last_mark_ = Clock::now();
  start_step_ = last_mark_step_ = step;
  tokens_since_mark_ = 0;
}

Progress::Rates Progress::mark(int64_t step) {
  auto now = Clock::now();
  double seconds = std::chrono::duration<double>(now - last_mark_).count();
  Rates rates;
  if (seconds > 0) {
    rates.tokens_per_s = double(tokens_since_mark_) / seconds;
    rates.mfu = peak_flops_ > 0 ? rates.tokens_per_s * flops_per_token_ / peak_flops_ : 0;
  }
  last_mark_ = now;
  last_mark_step_ = step;
  tokens_since_mark_ = 0;
  return rates;
}

double Progress::elapsed_s() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }

std::string Progress::line(int64_t step, double loss, double lr, const Rates& rates) const {
  double per_step = step > start_step_ ? elapsed_s() / double(step - start_step_) : 0;
  double eta = per_step * double(total_steps_ - step);
  std::string speed = rates.tokens_per_s >= 1e3 ? fmt::format("{:.1f}k", rates.tokens_per_s / 1e3)
                                                 : fmt::format("{:.0f}", rates.tokens_per_s);
  return fmt::format("step {}/{} | loss {:.4f} | lr {:.2e} | {} tok/s | MFU {:.1f}% | ETA {}", step, total_steps_, loss,
                     lr, speed, rates.mfu * 100, format_duration(eta));
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto total = int64_t(std::llround(seconds));
  if (total >= 3600) return fmt::format("{}h{:02d}m", total / 3600, (total % 3600) / 60);
  if (total >= 60) return fmt::format("{}m{:02d}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}

}  // namespace ember::train
