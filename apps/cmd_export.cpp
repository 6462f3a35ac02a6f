// `ember export --checkpoint DIR --format hf|gguf --out PATH [--dtype ...]`: a checkpoint (or the
// newest one of a run directory) as a Hugging Face directory (export/hf_export.h) or a GGUF file
// (export/gguf_export.h).
#include <optional>

#include "apps/command.h"
#include "core/error.h"
#include "core/stop_cleanup.h"
#include "export/export_source.h"
#include "export/gguf_export.h"
#include "export/hf_export.h"

namespace ember::apps {

void register_export(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Export a checkpoint for serving: Hugging Face directory or GGUF file");
  static std::string checkpoint, format, out, dtype, tokenizer;
  static int64_t max_shard_bytes = 5'000'000'000;
  cmd->add_option("--checkpoint", checkpoint, "Checkpoint directory, or a run directory (its newest checkpoint)")
      ->required();
  cmd->add_option("--format", format, "Output format")->required()->check(CLI::IsMember({"hf", "gguf"}));
  cmd->add_option("--out", out, "Output directory (hf) or .gguf file (gguf)")->required();
  cmd->add_option("--dtype", dtype, "Weight type: f32, bf16, f16 (hf); f32, f16, bf16, q8_0 (gguf); default f32");
  cmd->add_option("--max-shard-size", max_shard_bytes, "hf: largest safetensors shard in bytes")->capture_default_str();
  static bool allow_other_tokenizer = false;
  cmd->add_option("--tokenizer", tokenizer,
                  "tokenizer.json to use instead of the checkpoint's own (or its config's data.tokenizer); one that "
                  "differs from the checkpoint's own is refused unless --allow-other-tokenizer");
  cmd->add_flag("--allow-other-tokenizer", allow_other_tokenizer,
                "Export with a --tokenizer that differs from the one the checkpoint records (warns)");
  cmd->callback([] {
    remove_temporaries_on_stop({out});
    const std::string chosen = dtype.empty() ? "f32" : dtype;
    const auto tokenizer_override = tokenizer.empty() ? std::nullopt : std::optional<std::filesystem::path>(tokenizer);
    if (format == "hf") {
      exporting::HfExportOptions options{exporting::parse_hf_dtype(chosen), max_shard_bytes};
      exporting::export_hf(exporting::open_export_source(checkpoint, tokenizer_override, allow_other_tokenizer), out, options);
    } else {
      const auto type = exporting::parse_gguf_dtype(chosen);
      exporting::export_gguf(exporting::open_export_source(checkpoint, tokenizer_override, allow_other_tokenizer), out, type);
    }
  });
}

}  // namespace ember::apps
