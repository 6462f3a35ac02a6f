// Training-throughput benchmark (see bench.h).
#include "train/bench.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/ops/full.h>
#include <ATen/ops/randint.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "model/flops.h"
#include "model/generate.h"
#include "model/loss.h"
#include "model/transformer.h"
#include "checkpoint/model_weights.h"
#include "checkpoint/resolve.h"
#include "train/peak_flops.h"
#include "train/runtime.h"
#include "train/trainer.h"

namespace ember::train {

namespace {

/// CPU time of the whole process (every thread) in milliseconds.
double process_cpu_ms() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return double(now.tv_sec) * 1e3 + double(now.tv_nsec) / 1e6;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

void describe_bench(config::Schema& s, BenchConfig& c) {
  s.section("bench", "`ember bench train`: warm-up and timed trainer steps on random tokens.");
  s.add("bench.warmup_steps", c.warmup_steps, "Untimed steps first (allocator, kernels, caches).").min(0);
  s.add("bench.steps", c.steps, "Timed steps; the median step time is reported.").min(1);
}

std::string BenchResult::to_json() const {
  nlohmann::json j = {{"tokens_per_s", tokens_per_s}, {"step_ms", step_ms},     {"cpu_ms", cpu_ms}, {"mfu", mfu},
                      {"peak_flops", peak_flops},     {"peak_source", peak_source}, {"flops_per_token", flops_per_token},
                      {"params", parameters},         {"device", device},       {"dtype", dtype},
                      {"threads", threads},           {"fused_kernels", fused_kernels},
                      {"fused_lm_loss", fused_lm_loss},  {"fused_projections", fused_projections},
                      {"attention_backend", attention_backend},
                      {"final_loss", final_loss}};
  return j.dump();
}

BenchResult run_train_benchmark(const PretrainConfig& config, const BenchConfig& bench) {
  const auto runtime = setup_runtime(config.train);
  const int64_t micro = config.train.micro_batch_size > 0 ? config.train.micro_batch_size : config.train.batch_size;
  if (config.train.batch_size % micro != 0) {
    fail_usage("train.batch_size ({}) must be a multiple of train.micro_batch_size ({})", config.train.batch_size, micro);
  }
  const int64_t accumulation = config.train.batch_size / micro;
  at::manual_seed(uint64_t(config.train.seed));
  model::Transformer model(config.model, runtime.kernels);
  model->to(runtime.device);
  model->train();
  Trainer trainer(model.ptr(), config.optim, config.train, bench.warmup_steps + bench.steps);

  auto options = at::TensorOptions().dtype(at::kLong).device(runtime.device);
  std::vector<at::Tensor> tokens;
  for (int64_t m = 0; m < accumulation; ++m) {
    tokens.push_back(at::randint(config.model.vocab_size, {micro, config.train.seq_len + 1}, options));
  }
  const double global_tokens = double(config.train.batch_size * config.train.seq_len);
  auto loss_of = [&](int64_t m) {
    AutocastScope autocast(runtime.bf16_autocast);
    const auto& t = tokens[size_t(m)];
    auto inputs = t.narrow(1, 0, config.train.seq_len);
    auto targets = t.narrow(1, 1, config.train.seq_len);
    return model::next_token_loss_sum(*model, inputs, targets, {}, config.train.fused_lm_loss) / global_tokens;
  };

  BenchResult result;
  result.flops_per_token = model::training_flops_per_token(config.model, config.train.seq_len);
  result.parameters = model::count_parameters(config.model);
  auto peak = peak_flops(runtime.device, runtime.bf16_autocast, config.metrics.peak_flops);
  result.peak_flops = peak.flops_per_s;
  result.peak_source = peak.how;
  result.device = runtime.device.str();
  result.dtype = runtime.bf16_autocast ? "bf16-autocast" : "fp32";
  result.threads = runtime.threads;
  result.fused_kernels = config.train.fused_kernels;
  result.fused_lm_loss = config.train.fused_lm_loss;
  result.fused_projections = config.train.fused_projections;
  result.attention_backend = config.train.attention_backend;

  for (int64_t i = 0; i < bench.warmup_steps; ++i) trainer.step(accumulation, loss_of);
  std::vector<double> step_ms, cpu_ms;
  for (int64_t i = 0; i < bench.steps; ++i) {
    auto start = std::chrono::steady_clock::now();
    const double cpu_start = process_cpu_ms();
    auto step = trainer.step(accumulation, loss_of);  // reads loss and norm back: the step is finished
    step_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    cpu_ms.push_back(process_cpu_ms() - cpu_start);
    result.final_loss = step.loss;
    log::info("bench step {}/{}: {:.1f} ms, loss {:.4f}", i + 1, bench.steps, step_ms.back(), step.loss);
  }
  result.step_ms = median(step_ms);
  result.cpu_ms = median(cpu_ms);
  result.tokens_per_s = global_tokens / (result.step_ms / 1e3);
  result.mfu = result.tokens_per_s * result.flops_per_token / result.peak_flops;
  return result;
}

std::string run_generate_benchmark(const GenerateBenchOptions& options) {
  at::set_num_threads(options.threads);
  auto model = checkpoint::load_model(checkpoint::resolve_checkpoint(options.checkpoint), model::kernels::KernelPolicy());
  model->eval();
  at::manual_seed(options.seed);
  const int64_t vocab = model->config().vocab_size;
  auto ids = at::randint(vocab, {options.batch, options.prompt_len}, at::TensorOptions().dtype(at::kLong));
  model::PaddedPrompts prompts{ids, at::full({options.batch}, options.prompt_len, at::kLong), model::Padding::kLeft};
  model::GenerationOptions generation;
  generation.max_new_tokens = options.new_tokens;

  (void)model::generate(model, prompts, generation);  // warm-up
  std::vector<double> ms;
  for (int64_t i = 0; i < options.repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto completions = model::generate(model, prompts, generation);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    for (const auto& c : completions) {
      if (int64_t(c.token_ids.size()) != options.new_tokens) fail("generation stopped early");
    }
  }
  const double median_ms = median(ms);
  nlohmann::json j = {{"tokens_per_s", double(options.batch * options.new_tokens) / (median_ms / 1e3)},
                      {"ms", median_ms},
                      {"batch", options.batch},
                      {"prompt_len", options.prompt_len},
                      {"new_tokens", options.new_tokens},
                      {"threads", options.threads}};
  return j.dump();
}

}  // namespace ember::train
