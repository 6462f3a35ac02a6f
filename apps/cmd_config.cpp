// `ember config docs`: the Markdown reference of every config key (docs/configs.md is this output).
#include <fmt/format.h>

#include "apps/command.h"
#include "apps/config_reference.h"

namespace ember::apps {

void register_config(CLI::App& app) {
  auto* cmd = app.add_subcommand("config", "Config reference");
  cmd->require_subcommand(1);
  auto* docs = cmd->add_subcommand("docs", "Print the Markdown reference of every config key (docs/configs.md)");
  docs->callback([] { fmt::print("{}", config_reference_markdown()); });
}

}  // namespace ember::apps
