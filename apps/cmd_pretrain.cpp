// `ember pretrain --config FILE [key=value ...]`: next-token pretraining on HDF5 token stores.
#include "apps/command.h"
#include "apps/recipe_args.h"
#include "train/config.h"
#include "train/pretrain.h"

namespace ember::apps {

void register_pretrain(CLI::App& app) {
  auto* cmd = app.add_subcommand("pretrain", "Pretrain a decoder with next-token cross-entropy (config-driven)");
  static RecipeArgs args;
  add_recipe_options(cmd, args);
  cmd->callback([] {
    train::PretrainConfig config;
    config::Schema schema;
    train::describe_pretrain(schema, config);
    if (resolve_recipe_config(schema, args)) return;
    train::run_pretrain(config, schema.to_yaml());
  });
}

}  // namespace ember::apps
