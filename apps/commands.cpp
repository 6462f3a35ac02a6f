// The one place where `ember` subcommands are registered. Only subcommands that work are listed.
#include "apps/command.h"

namespace ember::apps {

void register_commands(CLI::App& app) {
  register_pretrain(app);
  register_rl(app);
  register_distill(app);
  register_eval(app);
  register_generate(app);
  register_bench(app);
  register_config(app);
  register_export(app);
  register_import(app);
  register_tokenizer(app);
  register_data(app);
  register_version(app);
}

}  // namespace ember::apps
