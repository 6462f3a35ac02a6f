// `ember generate --checkpoint DIR (--prompt TEXT... | --prompt - | --prompt-file FILE)`: sample
// completions from a checkpoint with the KV-cache engine (greedy by default; temperature / top-k /
// top-p with a seed). Prompts come from the command line, stdin (`--prompt -`) or a file, one per
// line, or with --prompt-field the string field of each JSONL line (prompts with newlines). A
// prompt that does not leave room for --max-new-tokens in the model's context is refused with the
// lengths, or with --truncate left keeps its last tokens. Prompts run in batches of --batch-size;
// each result is printed as soon as its batch is done.
#include <fstream>
#include <iostream>
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
  std::string prompt_file;
  std::string prompt_field;
  std::string truncate = "none";
  int64_t batch_size = 16;
  int64_t max_new_tokens = 64;
  double temperature = 0;
  int64_t top_k = 0;
  double top_p = 1.0;
  uint64_t seed = 0;
  std::string output = "text";
};

/// A prompt and where it came from, for messages ("--prompt 2", "prompts.txt:7", "<stdin>:3").
struct Prompt {
  std::string text;
  std::string origin;
};

// One prompt per non-blank line of `in`, or the string field `field` of each JSONL line.
void read_prompts(std::istream& in, const std::string& name, const std::string& field, std::vector<Prompt>& prompts) {
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::string origin = fmt::format("{}:{}", name, number);
    if (field.empty()) {
      prompts.push_back({line, origin});
      continue;
    }
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& error) {
      fail_usage("{}: not a JSON object: {}", origin, error.what());
    }
    if (!record.is_object() || !record.contains(field) || !record[field].is_string()) {
      fail_usage("{}: no string field '{}' (--prompt-field)", origin, field);
    }
    prompts.push_back({record[field].get<std::string>(), origin});
  }
}

std::vector<Prompt> collect_prompts(const GenerateArgs& args) {
  std::vector<Prompt> prompts;
  for (size_t i = 0; i < args.prompts.size(); ++i) {
    if (args.prompts[i] == "-") {
      read_prompts(std::cin, "<stdin>", args.prompt_field, prompts);
    } else {
      prompts.push_back({args.prompts[i], fmt::format("--prompt {}", i + 1)});
    }
  }
  if (!args.prompt_file.empty()) {
    std::ifstream in(args.prompt_file);
    if (!in) fail_usage("cannot open --prompt-file '{}'", args.prompt_file);
    read_prompts(in, args.prompt_file, args.prompt_field, prompts);
  }
  if (prompts.empty()) fail_usage("no prompts: give --prompt TEXT, --prompt - (stdin) or --prompt-file FILE");
  return prompts;
}

// The prompt's ids, refused or trimmed from the left when they leave no room for the completion.
std::vector<int64_t> fit_prompt(const data::Tokenizer& tokenizer, const Prompt& prompt, const GenerateArgs& args,
                                int64_t context) {
  auto ids = tokenizer.encode(prompt.text);
  if (ids.empty()) fail_usage("{}: the prompt is empty", prompt.origin);
  const int64_t room = context - args.max_new_tokens;
  if (room < 1) {
    fail_usage("--max-new-tokens {} leaves no room for a prompt in the model's context of {} tokens",
               args.max_new_tokens, context);
  }
  if (int64_t(ids.size()) > room) {
    if (args.truncate != "left") {
      fail_usage("{}: the prompt has {} tokens; with --max-new-tokens {} it needs {} > the model's context of {} "
                 "(shorten it, lower --max-new-tokens, or pass --truncate left to keep its last {} tokens)",
                 prompt.origin, ids.size(), args.max_new_tokens, int64_t(ids.size()) + args.max_new_tokens, context,
                 room);
    }
    ids.erase(ids.begin(), ids.end() - room);
  }
  return {ids.begin(), ids.end()};
}

void run_generate(const GenerateArgs& args) {
  at::set_num_threads(int(std::max(1u, std::thread::hardware_concurrency())));
  const std::vector<Prompt> prompts = collect_prompts(args);
  auto dir = checkpoint::resolve_checkpoint(args.checkpoint);
  auto tokenizer = data::Tokenizer::load(checkpoint::checkpoint_tokenizer(dir).string());
  auto model = checkpoint::load_model(dir, model::kernels::KernelPolicy());
  model->eval();
  std::vector<std::vector<int64_t>> prompt_ids;
  for (const auto& prompt : prompts) prompt_ids.push_back(fit_prompt(tokenizer, prompt, args, model->config().max_seq_len));

  model::GenerationOptions options;
  options.max_new_tokens = args.max_new_tokens;
  options.sampling.temperature = args.temperature;
  options.sampling.top_k = args.top_k;
  options.sampling.top_p = args.top_p;
  options.sampling.vocab_limit = tokenizer.vocab_size();  // never sample padding rows of the embedding
  if (auto eos = tokenizer.token_to_id("<|eos|>")) options.stop_tokens.push_back(*eos);
  for (size_t first = 0; first < prompts.size(); first += size_t(args.batch_size)) {
    const size_t last = std::min(prompts.size(), first + size_t(args.batch_size));
    std::vector<std::vector<int64_t>> batch(prompt_ids.begin() + long(first), prompt_ids.begin() + long(last));
    options.seed = args.seed + first;  // prompt i samples with seed + i, however the prompts are batched
    auto completions = model::generate(model, batch, options);
    for (size_t i = 0; i < completions.size(); ++i) {
      const auto& completion = completions[i];
      const auto& prompt = prompts[first + i];
      std::vector<int32_t> text_ids(completion.token_ids.begin(), completion.token_ids.end());
      if (completion.finish_reason == model::FinishReason::kStop && !text_ids.empty()) text_ids.pop_back();
      auto text = tokenizer.decode(text_ids);
      if (args.output == "json") {
        nlohmann::json line = {{"prompt", prompt.text},
                               {"prompt_ids", batch[i]},
                               {"completion_ids", completion.token_ids},
                               {"text", text},
                               {"finish_reason", completion.finish_reason == model::FinishReason::kStop ? "stop" : "length"}};
        fmt::print("{}\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      } else {
        fmt::print("{}{}\n", prompt.text, text);
      }
    }
    std::fflush(stdout);
  }
}

}  // namespace

void register_generate(CLI::App& app) {
  static GenerateArgs args;
  auto* cmd = app.add_subcommand("generate", "Generate completions from a checkpoint (KV cache; greedy or sampled)");
  cmd->add_option("--checkpoint", args.checkpoint, "Checkpoint directory, or a run directory (its newest)")->required();
  cmd->add_option("--prompt", args.prompts, "Prompt text (repeat for a batch); '-' reads prompts from stdin, one per line");
  cmd->add_option("--prompt-file", args.prompt_file, "File of prompts, one per line (blank lines skipped)");
  cmd->add_option("--prompt-field", args.prompt_field,
                  "Read --prompt-file / stdin as JSONL and take this string field of each line as the prompt");
  cmd->add_option("--truncate", args.truncate,
                  "A prompt longer than the context minus --max-new-tokens: none refuses it (naming the lengths), "
                  "left keeps its last tokens")
      ->check(CLI::IsMember({"none", "left"}))->capture_default_str();
  cmd->add_option("--batch-size", args.batch_size, "Prompts generated together")->check(between(1, 1 << 16))
      ->capture_default_str();
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
