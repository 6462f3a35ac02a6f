// The `ember data` subcommands, each in its own file (cmd_data_<name>.cpp) and added to the
// `data` command by cmd_data.cpp.
#pragma once

#include <CLI/CLI.hpp>

namespace ember::apps {

/// `ember data generate`: reasoning-task examples as JSON Lines.
void register_data_generate(CLI::App& data_cmd);

/// `ember data prepare`: text / JSONL files -> HDF5 token store.
void register_data_prepare(CLI::App& data_cmd);

/// `ember data inspect`: validate a token store, print counts, lengths and samples.
void register_data_inspect(CLI::App& data_cmd);

}  // namespace ember::apps
