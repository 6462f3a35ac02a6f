// The `ember` subcommands. Each lives in its own file (cmd_<name>.cpp) and exposes one function
// that adds its CLI11 subcommand to the root app; commands.cpp registers them all in one place.
// A subcommand's callback throws ember::UsageError (exit 2) or ember::Error (exit 1) on failure;
// main.cpp turns exceptions into a one-line message and the exit code.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace ember::apps {

/// Adds every subcommand to `app` (the one place they are listed).
void register_commands(CLI::App& app);

/// The text of `ember --version`.
std::string version_report();

void register_version(CLI::App& app);
void register_pretrain(CLI::App& app);
void register_rl(CLI::App& app);
void register_distill(CLI::App& app);
void register_eval(CLI::App& app);
void register_generate(CLI::App& app);
void register_bench(CLI::App& app);
void register_config(CLI::App& app);
void register_export(CLI::App& app);
void register_import(CLI::App& app);
void register_tokenizer(CLI::App& app);
void register_data(CLI::App& app);

}  // namespace ember::apps
