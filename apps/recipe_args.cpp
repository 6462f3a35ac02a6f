// Shared recipe arguments (see recipe_args.h).
#include "apps/recipe_args.h"

#include <fmt/format.h>

#include "core/config/loader.h"

namespace ember::apps {

void add_recipe_options(CLI::App* cmd, RecipeArgs& args) {
  cmd->add_option("--config,-c", args.config_file, "YAML config file (see docs/configs.md)");
  cmd->add_option("overrides", args.overrides, "Config overrides as dotted key=value (e.g. train.steps=100)");
  cmd->add_flag("--print-config", args.print_config, "Print the fully resolved config as YAML and exit");
}

bool resolve_recipe_config(config::Schema& schema, const RecipeArgs& args) {
  config::resolve(schema, args.config_file, args.overrides);
  if (args.print_config) {
    fmt::print("{}", schema.to_yaml());
    return true;
  }
  return false;
}

}  // namespace ember::apps
