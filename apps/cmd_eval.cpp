// `ember eval --checkpoint DIR --task NAME`: accuracy on held-out (eval-split) problems of a
// generated task, greedy or sampled pass@k. The last line of stdout is one JSON object:
//   {"task": ..., "accuracy": ..., "samples": ..., "params": ..., "pass_k": ..., ...}
#include <thread>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/cli_checks.h"
#include "apps/command.h"
#include "data/tasks/registry.h"
#include "data/tokenizer/tokenizer.h"
#include "model/flops.h"
#include "checkpoint/model_weights.h"
#include "checkpoint/resolve.h"
#include "checkpoint/run_files.h"
#include "train/sampling/task_eval.h"

namespace ember::apps {
namespace {

/// Problems one evaluation draws at most: every problem and its completions are held in memory,
/// and a million greedy completions already take hours on a CPU.
constexpr int64_t kMaxSamples = 1'000'000;
/// Completions per problem at most (pass@k estimates need far fewer).
constexpr int64_t kMaxPassK = 1024;

struct EvalArgs {
  std::string checkpoint;
  std::string task;
  train::sampling::TaskEvalOptions options;
  int64_t threads = 0;
};

void run_eval(const EvalArgs& args) {
  at::set_num_threads(int(args.threads > 0 ? args.threads : std::max(1u, std::thread::hardware_concurrency())));
  const auto& task = data::tasks::find_task(args.task);
  auto dir = checkpoint::resolve_checkpoint(args.checkpoint);
  auto tokenizer = data::Tokenizer::load(checkpoint::checkpoint_tokenizer(dir).string());
  auto model_config = checkpoint::read_model_config(dir);
  auto model = checkpoint::load_model(dir);
  auto result = train::sampling::evaluate_task(model, tokenizer, task, args.options);
  const int difficulty = args.options.difficulty > 0 ? args.options.difficulty : task.default_difficulty();
  fmt::print("{}: {} / {} held-out problems solved ({}), accuracy {:.4f}\n", args.task, result.correct,
             result.samples, args.options.pass_k > 1 ? fmt::format("pass@{}", args.options.pass_k) : "greedy",
             result.accuracy);
  nlohmann::json summary = {{"task", args.task},
                            {"accuracy", result.accuracy},
                            {"samples", result.samples},
                            {"correct", result.correct},
                            {"params", model::count_parameters(model_config)},
                            {"pass_k", args.options.pass_k},
                            {"temperature", args.options.temperature},
                            {"difficulty", difficulty},
                            {"seed", args.options.seed},
                            {"format_score", result.format_score},
                            {"mean_length", result.mean_length},
                            {"truncated", result.truncated},
                            {"checkpoint", dir.string()}};
  fmt::print("{}\n", summary.dump());
}

}  // namespace

void register_eval(CLI::App& app) {
  static EvalArgs args;
  auto* cmd = app.add_subcommand("eval", "Accuracy on held-out problems of a generated task (greedy or pass@k)");
  cmd->add_option("--checkpoint", args.checkpoint, "Checkpoint directory, or a run directory (its newest)")->required();
  cmd->add_option("--task", args.task, "Task name")->required()->check(CLI::IsMember(data::tasks::task_names()));
  cmd->add_option("--samples", args.options.samples, "Distinct held-out problems to evaluate")
      ->check(between(1, kMaxSamples))
      ->capture_default_str();
  cmd->add_option("--seed", args.options.seed, "Seed of the held-out problem stream (and of sampling)")
      ->capture_default_str();
  cmd->add_option("--difficulty", args.options.difficulty, "Task difficulty 1-5; 0 is the task's default")
      ->check(between(0, 5))->capture_default_str();
  cmd->add_option("--pass-k", args.options.pass_k, "Completions per problem; solved when any is correct")
      ->check(between(1, kMaxPassK))->capture_default_str();
  cmd->add_option("--temperature", args.options.temperature, "Sampling temperature; 0 is greedy (pass@1 only)")
      ->check(at_least(0))->capture_default_str();
  cmd->add_option("--max-new-tokens", args.options.max_new_tokens, "Completion length limit")
      ->check(at_least(1))->capture_default_str();
  cmd->add_option("--threads", args.threads, "CPU threads; 0 uses every core")->check(thread_count(0))
      ->capture_default_str();
  cmd->callback([] { run_eval(args); });
}

}  // namespace ember::apps
