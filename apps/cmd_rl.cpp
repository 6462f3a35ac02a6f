// `ember rl --config FILE [key=value ...]`: reasoning RL (GRPO / Dr. GRPO / DAPO / RLOO) from a
// checkpoint on a generated task with verifiable rewards.
#include "apps/command.h"
#include "apps/recipe_args.h"
#include "train/rl/rl_config.h"
#include "train/rl/rl_recipe.h"

namespace ember::apps {

void register_rl(CLI::App& app) {
  auto* cmd = app.add_subcommand("rl", "Reasoning RL on verifiable tasks: GRPO / Dr. GRPO / DAPO / RLOO (config-driven)");
  static RecipeArgs args;
  add_recipe_options(cmd, args);
  cmd->callback([] {
    train::rl::RlConfig config;
    config::Schema schema;
    train::rl::describe_rl(schema, config);
    if (resolve_recipe_config(schema, args)) return;
    train::rl::run_rl(config, schema.to_yaml());
  });
}

}  // namespace ember::apps
