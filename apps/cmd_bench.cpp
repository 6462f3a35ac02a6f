// `ember bench train --config FILE [key=value ...]`: trainer throughput on random tokens; the last
// line of output is JSON with tokens_per_s, step_ms, mfu, peak_flops and how the peak was obtained.
// `ember bench generate --checkpoint DIR [--batch N --prompt-len P --new-tokens T]`: KV-cache
// generation tokens/s on random prompts, one JSON line.
#include <fmt/format.h>

#include "apps/cli_checks.h"
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

  static train::GenerateBenchOptions generate;
  auto* generate_cmd =
      cmd->add_subcommand("generate", "Greedy KV-cache generation tokens/s for a batch of random prompts");
  generate_cmd->add_option("--checkpoint", generate.checkpoint, "Run or checkpoint directory")->required();
  generate_cmd->add_option("--batch", generate.batch, "Prompts per batch")->check(at_least(1));
  generate_cmd->add_option("--prompt-len", generate.prompt_len, "Tokens per prompt")->check(at_least(1));
  generate_cmd->add_option("--new-tokens", generate.new_tokens, "Tokens generated per prompt")->check(at_least(1));
  generate_cmd->add_option("--threads", generate.threads, "CPU threads")->check(thread_count(1));
  generate_cmd->add_option("--repeats", generate.repeats, "Timed generations (median)")->check(at_least(1));
  generate_cmd->add_option("--seed", generate.seed, "Seed of the random prompts");
  generate_cmd->callback([] { fmt::print("{}\n", train::run_generate_benchmark(generate)); });
}

}  // namespace ember::apps
