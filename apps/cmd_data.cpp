// `ember data <subcommand>`: the data pipeline's commands, grouped under one parent command.
#include "apps/cmd_data.h"
#include "apps/command.h"

namespace ember::apps {

void register_data(CLI::App& app) {
  auto* data_cmd = app.add_subcommand("data", "Data pipeline: prepare and inspect token stores, generate reasoning tasks");
  data_cmd->require_subcommand(1);
  register_data_prepare(*data_cmd);
  register_data_inspect(*data_cmd);
  register_data_generate(*data_cmd);
}

}  // namespace ember::apps
