// `ember data generate --task NAME|all --count N --seed S --out FILE.jsonl [--split train|eval]
// [--difficulty D] [--eval-percent P] [--answer-only-percent P]
// [--careless-percent P]`: writes reasoning-task examples, one JSON object per line
// (task, prompt, solution, answer, meta, text; see docs/formats.md). `--task all` mixes every
// task: the pretraining corpus of the nano pipeline.
#include <iostream>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "apps/cmd_data.h"
#include "apps/output_guards.h"
#include "core/error.h"
#include "core/stop_cleanup.h"
#include "data/tasks/dataset.h"
#include "data/tasks/registry.h"
#include "data/tasks/task.h"

namespace ember::apps {

void register_data_generate(CLI::App& data_cmd) {
  namespace tasks = data::tasks;
  auto* cmd = data_cmd.add_subcommand("generate", "Generate reasoning-task examples (prompt, solution, answer) as JSONL");
  struct Args {
    std::string task;
    int64_t count = 0;
    uint64_t seed = 0;
    std::string out;
    std::string split = "train";
    std::optional<int> difficulty;
    int eval_percent = tasks::kDefaultEvalPercent;
    int answer_only_percent = 0;
    int careless_percent = 0;
  };
  static Args args;
  cmd->add_option("--task", args.task,
                  fmt::format("Task name ({}) or '{}' to mix every task", fmt::join(tasks::task_names(), ", "),
                              tasks::kAllTasks))
      ->required();
  cmd->add_option("--count", args.count, "Number of examples")->required();
  cmd->add_option("--seed", args.seed, "Seed: the same seed gives the same file")->required();
  cmd->add_option("--out", args.out,
                  "Output JSONL file, written atomically; an existing file is replaced only when it holds generated "
                  "examples")
      ->required();
  cmd->add_option("--split", args.split, "train or eval (problems are split by a hash of the problem)")
      ->capture_default_str();
  cmd->add_option("--difficulty", args.difficulty,
                  fmt::format("Difficulty {}..{} (default: each task's own)", tasks::kMinDifficulty,
                              tasks::kMaxDifficulty));
  cmd->add_option("--eval-percent", args.eval_percent, "Share of problems in the eval split, 1..99")
      ->capture_default_str();
  cmd->add_option("--answer-only-percent", args.answer_only_percent,
                  "Share of examples, 0..100, written without their worked steps (empty <think> block)")
      ->capture_default_str();
  cmd->add_option("--careless-percent", args.careless_percent,
                  "Share of examples, 0..100, worked with a systematic slip and its wrong answer where the task has "
                  "one (arithmetic: carries and borrows dropped)")
      ->capture_default_str();
  cmd->callback([] {
    if (args.count < 1) fail_usage("--count must be at least 1, got {}", args.count);
    tasks::DatasetSpec spec{.task = args.task,
                            .count = static_cast<size_t>(args.count),
                            .seed = args.seed,
                            .split = tasks::parse_split(args.split),
                            .difficulty = args.difficulty,
                            .eval_percent = args.eval_percent,
                            .answer_only_percent = args.answer_only_percent,
                            .careless_percent = args.careless_percent};
    check_examples_output(args.out);
    remove_temporaries_on_stop({args.out});
    std::vector<tasks::Example> examples = tasks::generate_dataset(spec);
    tasks::write_examples_jsonl(args.out, examples);
    std::cout << fmt::format("wrote {} {} examples of task '{}' to {}\n", examples.size(), args.split, args.task,
                             args.out);
  });
}

}  // namespace ember::apps
