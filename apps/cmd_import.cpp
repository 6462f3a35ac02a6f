// `ember import --hf DIR --out DIR`: a Hugging Face Llama / Qwen2 / Qwen3 directory -> an Ember run
// directory with one checkpoint (export/hf_import.h).
#include <fmt/format.h>

#include "apps/command.h"
#include "core/config/schema.h"
#include "core/stop_cleanup.h"
#include "export/hf_import.h"
#include "train/config.h"

namespace ember::apps {

void register_import(CLI::App& app) {
  auto* cmd = app.add_subcommand("import", "Import a Hugging Face Llama / Qwen2 / Qwen3 directory as an Ember checkpoint");
  static std::string hf_dir, out;
  cmd->add_option("--hf", hf_dir, "Hugging Face model directory (config.json, *.safetensors, tokenizer.json)")
      ->required();
  cmd->add_option("--out", out, "New run directory (must not exist or be empty)")->required();
  cmd->callback([] {
    remove_temporaries_on_stop({out});
    auto checkpoint = exporting::import_hf(
        hf_dir, out, [](const model::ModelConfig& model, const std::filesystem::path& run_dir, const std::filesystem::path& tokenizer) {
          train::PretrainConfig run;  // the pretraining config a run directory holds, with the imported model
          run.run.dir = run_dir.string();
          run.model = model;
          run.data.tokenizer = tokenizer.string();
          config::Schema schema;
          train::describe_pretrain(schema, run);
          return schema.to_yaml();
        });
    fmt::print("{}\n", checkpoint.string());
  });
}

}  // namespace ember::apps
