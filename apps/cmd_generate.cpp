// `ember generate --checkpoint DIR --prompt TEXT`: sample a completion from a checkpoint with the
// KV-cache engine (greedy by default; temperature / top-k / top-p with a seed).
#include <thread>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/cli_checks.h"
#include "apps/command.h"
#include "core/error.h"
#include "data/tokenizer/tokenizer.h"
#include "model/generate.h"
#include "model/transformer.h"
#include "checkpoint/model_weights.h"
#include "checkpoint/resolve.h"
#include "checkpoint/run_files.h"

namespace ember::apps {
namespace {

struct GenerateArgs {
  std::string checkpoint;
  std::vector<std::string> prompts;
  int64_t max_new_tokens = 64;
  double temperature = 0;
  int64_t top_k = 0;
  double top_p = 1.0;
  uint64_t seed = 0;
  std::string output = "text";
};

void run_generate(const GenerateArgs& args) {
  at::set_num_threads(int(std::max(1u, std::thread::hardware_concurrency())));
  auto dir = checkpoint::resolve_checkpoint(args.checkpoint);
  auto tokenizer = data::Tokenizer::load(checkpoint::checkpoint_tokenizer(dir).string());
  auto model = checkpoint::load_model(dir);
  model->eval();

  std::vector<std::vector<int64_t>> prompt_ids;
  for (const auto& prompt : args.prompts) {
    auto ids = tokenizer.encode(prompt);
    if (ids.empty()) fail_usage("--prompt must not be empty");
    prompt_ids.emplace_back(ids.begin(), ids.end());
  }
  model::GenerationOptions options;
  options.max_new_tokens = args.max_new_tokens;
  options.sampling.temperature = args.temperature;
  options.sampling.top_k = args.top_k;
  options.sampling.top_p = args.top_p;
  options.sampling.vocab_limit = tokenizer.vocab_size();  // never sample padding rows of the embedding
  options.seed = args.seed;
  if (auto eos = tokenizer.token_to_id("<|eos|>")) options.stop_tokens.push_back(*eos);
  auto completions = model::generate(model, prompt_ids, options);

  for (size_t i = 0; i < completions.size(); ++i) {
    const auto& completion = completions[i];
    std::vector<int32_t> text_ids(completion.token_ids.begin(), completion.token_ids.end());
    if (completion.finish_reason == model::FinishReason::kStop && !text_ids.empty()) text_ids.pop_back();
    auto text = tokenizer.decode(text_ids);
    if (args.output == "json") {
      nlohmann::json line = {{"prompt", args.prompts[i]},
                             {"prompt_ids", prompt_ids[i]},
                             {"completion_ids", completion.token_ids},
                             {"text", text},
                             {"finish_reason", completion.finish_reason == model::FinishReason::kStop ? "stop" : "length"}};
      fmt::print("{}\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
      fmt::print("{}{}\n", args.prompts[i], text);
    }
  }
}

}  // namespace

void register_generate(CLI::App& app) {
  static GenerateArgs args;
  auto* cmd = app.add_subcommand("generate", "Generate completions from a checkpoint (KV cache; greedy or sampled)");
  cmd->add_option("--checkpoint", args.checkpoint, "Checkpoint directory, or a run directory (its newest)")->required();
  cmd->add_option("--prompt", args.prompts, "Prompt text (repeat for a batch)")->required();
  cmd->add_option("--max-new-tokens", args.max_new_tokens, "Tokens to generate at most")->check(at_least(1))
      ->capture_default_str();
  cmd->add_option("--temperature", args.temperature, "Sampling temperature; 0 is greedy")->check(at_least(0))
      ->capture_default_str();
  cmd->add_option("--top-k", args.top_k, "Keep the k most likely tokens; 0 keeps all")->check(at_least(0))
      ->capture_default_str();
  cmd->add_option("--top-p", args.top_p, "Nucleus sampling mass")->check(between(0, 1))->capture_default_str();
  cmd->add_option("--seed", args.seed, "Sampling seed")->capture_default_str();
  cmd->add_option("--output", args.output, "text, or json (one line per prompt: prompt, prompt_ids, completion_ids, text)")
      ->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->callback([] { run_generate(args); });
}

}  // namespace ember::apps
