// `ember eval --checkpoint DIR` in two modes; the last line of stdout is one JSON object.
//
//   --task NAME    accuracy on held-out (eval-split) problems of a generated task, greedy or
//                  sampled pass@k: {"task", "accuracy", "samples", "params", "pass_k", ...}
//   --data STORE   loss on token stores (data prepare's .h5), packed and document-masked as in
//                  training (train/loss_eval.h), whole or up to --max-tokens target tokens, over
//                  data-parallel ranks under mpirun: {"loss", "perplexity", "tokens", "stores", ...}
#include <thread>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/cli_checks.h"
#include "apps/command.h"
#include "checkpoint/model_weights.h"
#include "checkpoint/resolve.h"
#include "checkpoint/run_files.h"
#include "core/error.h"
#include "data/evaluation_data.h"
#include "data/tasks/registry.h"
#include "data/tokenizer/tokenizer.h"
#include "distributed/parallelize.h"
#include "model/flops.h"
#include "train/loss_eval.h"
#include "train/parallel_setup.h"
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
  std::vector<std::string> data;
  int64_t max_tokens = 0;
  int64_t seq_len = 0;
  int64_t batch_size = 8;
  bool no_document_mask = false;
  int64_t threads = 0;
};

void run_task_eval(const EvalArgs& args) {
  at::set_num_threads(int(args.threads > 0 ? args.threads : std::max(1u, std::thread::hardware_concurrency())));
  const auto& task = data::tasks::find_task(args.task);
  auto dir = checkpoint::resolve_checkpoint(args.checkpoint);
  auto tokenizer = data::Tokenizer::load(checkpoint::checkpoint_tokenizer(dir).string());
  auto model_config = checkpoint::read_model_config(dir);
  auto model = checkpoint::load_model(dir, model::kernels::KernelPolicy());
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

void run_loss_eval(const EvalArgs& args) {
  train::TrainConfig train_config;
  train_config.threads = args.threads;
  const auto run = train::setup_parallel_run(train_config, train::ParallelConfig{});
  auto dir = checkpoint::resolve_checkpoint(args.checkpoint);
  auto tokenizer = data::Tokenizer::load(checkpoint::checkpoint_tokenizer(dir).string());
  auto model_config = checkpoint::read_model_config(dir);
  const int64_t seq_len = args.seq_len > 0 ? args.seq_len : model_config.max_seq_len;
  if (seq_len > model_config.max_seq_len) {
    fail_usage("--seq-len {} exceeds the model's context of {} tokens (model.max_seq_len)", seq_len,
               model_config.max_seq_len);
  }
  auto model = checkpoint::load_model(dir, run.runtime.kernels);
  model->to(run.runtime.device);
  const auto layout = distributed::parallelize(*model, *run.mesh, distributed::ParallelPlan::megatron());

  data::EvaluationOptions options;
  options.files = args.data;
  options.seq_len = seq_len;
  options.max_tokens = args.max_tokens;
  options.rank = int(run.mesh->dp_rank);
  options.world = int(run.mesh->dp);
  options.tokenizer_sha256 = tokenizer.sha256();
  data::EvaluationData data(options);
  if (data.vocab_size() > model_config.vocab_size) {
    fail_usage("the stores' vocabulary ({}) is larger than the model's ({})", data.vocab_size(), model_config.vocab_size);
  }
  train::LossEvalSettings settings;
  settings.micro_batch = args.batch_size;
  settings.mask_documents = !args.no_document_mask;
  auto result = train::evaluate_loss(model, data, settings, run.runtime, layout, *run.mesh->dp_group);
  if (!run.lead) return;
  nlohmann::json stores = nlohmann::json::array();
  for (const auto& store : result.stores) {
    stores.push_back({{"path", store.path}, {"loss", store.loss}, {"tokens", store.tokens}});
  }
  fmt::print("loss {:.4f} (perplexity {:.2f}) over {} tokens\n", result.loss, result.perplexity, result.tokens);
  nlohmann::json summary = {{"loss", result.loss},
                            {"perplexity", result.perplexity},
                            {"tokens", result.tokens},
                            {"seq_len", seq_len},
                            {"mask_documents", settings.mask_documents},
                            {"stores", stores},
                            {"params", model::count_parameters(model_config)},
                            {"checkpoint", dir.string()}};
  fmt::print("{}\n", summary.dump());
}

}  // namespace

void register_eval(CLI::App& app) {
  static EvalArgs args;
  auto* cmd = app.add_subcommand(
      "eval", "Accuracy on a generated task's held-out problems (--task), or loss and perplexity on token stores (--data)");
  cmd->add_option("--checkpoint", args.checkpoint, "Checkpoint directory, or a run directory (its newest)")->required();
  auto* task = cmd->add_option("--task", args.task, "Task name (accuracy mode)")
                   ->check(CLI::IsMember(data::tasks::task_names()));
  auto* data = cmd->add_option("--data", args.data,
                               "Token stores (.h5, from `ember data prepare` with the checkpoint's tokenizer) to "
                               "measure the loss on (loss mode; several: the mean over all their tokens)");
  task->excludes(data);
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
  cmd->add_option("--max-tokens", args.max_tokens,
                  "Loss mode: target tokens to evaluate at most (each store's first rows); 0 reads the stores whole")
      ->check(at_least(0))->capture_default_str();
  cmd->add_option("--seq-len", args.seq_len,
                  "Loss mode: tokens per packed row; 0 is the model's context (model.max_seq_len). Use the "
                  "training train.seq_len to compare with training's val_loss")
      ->check(at_least(0))->capture_default_str();
  cmd->add_option("--batch-size", args.batch_size, "Loss mode: rows per forward pass on each rank")
      ->check(between(1, 1 << 16))->capture_default_str();
  cmd->add_flag("--no-document-mask", args.no_document_mask,
                "Loss mode: let packed documents attend to each other (training masks them by default)");
  cmd->add_option("--threads", args.threads, "CPU threads; 0 uses every core (per rank under mpirun: cores / ranks)")
      ->check(thread_count(0))->capture_default_str();
  cmd->callback([] {
    if (args.task.empty() && args.data.empty()) fail_usage("eval needs --task NAME (accuracy) or --data STORE.h5 (loss)");
    if (!args.data.empty()) {
      run_loss_eval(args);
    } else {
      run_task_eval(args);
    }
  });
}

}  // namespace ember::apps
