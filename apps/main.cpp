// Entry point of the `ember` binary: parses the command line with CLI11, runs the chosen
// subcommand, and maps failures to exit codes (0 ok, 1 runtime error, 2 usage/config error,
// 130 after a run stopped on Ctrl-C with its checkpoint saved).
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include <CLI/CLI.hpp>

#include "apps/command.h"
#include "core/error.h"
#include "core/log.h"
#include "core/version.h"
#include "train/preemption.h"

namespace {

/// "ember eval" for the subcommand being run (what an out-of-memory message names).
std::string running_command(const CLI::App& app) {
  std::string name = "ember";
  for (const CLI::App* command = &app; !command->get_subcommands().empty();) {
    command = command->get_subcommands().front();
    name += " " + command->get_name();
  }
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  ember::log::init();
  CLI::App app{"Ember: train small, fast language models (pretrain, RL, distill, export) from one binary."};
  app.name("ember");
  app.require_subcommand(1);
  app.set_version_flag("--version", [] { return ember::apps::version_report(); }, "Print versions and build features");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, std::string("Log level: ") + ember::log::level_names())
      ->capture_default_str();
  app.parse_complete_callback([&] { ember::log::set_level(log_level); });
  ember::apps::register_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const ember::Error& e) {
    std::cerr << "ember: error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::cerr << "ember: error: out of memory while running `" << running_command(app)
              << "`; give it smaller sizes (counts, samples, batch or sequence length) or more memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "ember: error: " << e.what() << "\n";
    return 1;
  }
  return ember::train::exit_status_after_stop();
}
