// Command-line arguments shared by the config-driven recipes (pretrain, rl, distill, bench):
//   --config FILE [key=value ...] [--print-config]
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/config/schema.h"

namespace ember::apps {

struct RecipeArgs {
  std::string config_file;
  std::vector<std::string> overrides;
  bool print_config = false;
};

/// Adds --config, --print-config and the positional key=value overrides to `cmd`.
void add_recipe_options(CLI::App* cmd, RecipeArgs& args);

/// Resolves the config into `schema`'s structs. Returns true when --print-config asked for the
/// resolved YAML only (it is then printed and the command should stop).
bool resolve_recipe_config(config::Schema& schema, const RecipeArgs& args);

}  // namespace ember::apps
