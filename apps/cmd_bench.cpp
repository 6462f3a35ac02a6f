// `ember bench train --config FILE [key=value ...]`: trainer throughput on random tokens; the last
// line of output is JSON with tokens_per_s, step_ms, mfu, peak_flops and how the peak was obtained.
#include <fmt/format.h>

#include "apps/command.h"
#include "apps/recipe_args.h"
#include "train/bench.h"
#include "train/config.h"

namespace ember::apps {

void register_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Benchmarks");
  cmd->require_subcommand(1);
  auto* train_cmd = cmd->add_subcommand("train", "Trainer throughput (tokens/s, MFU) on random tokens (config-driven)");
  static RecipeArgs args;
  add_recipe_options(train_cmd, args);
  train_cmd->callback([] {
    train::PretrainConfig config;
    train::BenchConfig bench;
    config::Schema schema;
    train::describe_pretrain(schema, config);
    train::describe_bench(schema, bench);
    if (resolve_recipe_config(schema, args)) return;
    fmt::print("{}\n", train::run_train_benchmark(config, bench).to_json());
  });
}

}  // namespace ember::apps
