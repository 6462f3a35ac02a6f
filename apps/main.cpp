// Entry point of the `ember` binary: parses the command line with CLI11, runs the chosen
// subcommand, and maps failures to exit codes (0 ok, 1 runtime error, 2 usage/config error).
#include <cstdio>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "apps/command.h"
#include "core/error.h"
#include "core/log.h"
#include "core/version.h"

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
  } catch (const std::exception& e) {
    std::cerr << "ember: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
