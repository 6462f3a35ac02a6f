// `ember distill --config FILE [key=value ...]`: distillation of a teacher checkpoint into a
// student (online, offline, on-policy, sequence-level), and `ember distill dump-teacher`, which
// writes the teacher's top-k log-probs for the offline mode.
#include "apps/command.h"
#include "apps/output_guards.h"
#include "apps/recipe_args.h"
#include "checkpoint/resolve.h"
#include "checkpoint/run_files.h"
#include "core/stop_cleanup.h"
#include "train/distill/distill_config.h"
#include "train/distill/distill_recipe.h"
#include "train/distill/dump_teacher.h"

namespace ember::apps {
namespace {

void add_dump_teacher(CLI::App* distill) {
  static train::distill::DumpTeacherOptions options;
  static std::string dtype = "float16";
  auto* cmd = distill->add_subcommand(
      "dump-teacher", "Write a teacher's top-k log-probs per token of the packed training sequences (HDF5)");
  cmd->add_option("--teacher", options.teacher, "Teacher checkpoint or run directory")->required();
  cmd->add_option("--data", options.data, "Token stores (data.train of the training run)")->required();
  cmd->add_option("--weights", options.weights, "Mixture weights (data.weights)");
  cmd->add_option("--seq-len", options.seq_len, "train.seq_len of the training run")->capture_default_str();
  cmd->add_option("--seed", options.seed, "train.seed of the training run")->capture_default_str();
  cmd->add_option("--val-fraction", options.val_fraction, "data.val_fraction of the training run")
      ->capture_default_str();
  cmd->add_option("--mask-documents", options.mask_documents, "data.mask_documents of the training run")
      ->capture_default_str();
  cmd->add_option("--sequences", options.sequences, "Sequences to dump (train.steps x train.batch_size)")->required();
  cmd->add_option("--top-k", options.top_k, "Log-probs kept per token")->capture_default_str();
  cmd->add_option("--dtype", dtype, "Stored log-prob precision")->check(CLI::IsMember({"float16", "float32"}))
      ->capture_default_str();
  cmd->add_option("--batch", options.batch, "Sequences per teacher forward")->capture_default_str();
  cmd->add_option("--device", options.device, "auto, cpu or cuda")->capture_default_str();
  cmd->add_option("--out", options.out,
                  "Output HDF5 file; an existing file is replaced only when it is a teacher-logits file")
      ->required();
  cmd->callback([] {
    options.half_precision = dtype == "float16";
    check_teacher_logits_output(options.out, options.data);
    remove_temporaries_on_stop({options.out});
    train::distill::dump_teacher(options);
  });
}

}  // namespace

void register_distill(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "distill", "Distill a teacher into a student: online / offline (top-k HDF5) / on-policy / sequence-level KD");
  static RecipeArgs args;
  add_recipe_options(cmd, args);
  add_dump_teacher(cmd);
  cmd->callback([cmd] {
    if (cmd->got_subcommand("dump-teacher")) return;
    train::distill::DistillConfig config;
    config::Schema schema;
    train::distill::describe_distill(schema, config);
    if (resolve_recipe_config(schema, args)) return;
    if (!config.distill.student_init.empty()) {
      // The student's architecture is its checkpoint's; the saved model section records it.
      config.model = checkpoint::read_model_config(checkpoint::resolve_checkpoint(config.distill.student_init));
    }
    train::distill::run_distill(config, schema.to_yaml());
  });
}

}  // namespace ember::apps
