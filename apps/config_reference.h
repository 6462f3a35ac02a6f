// The Markdown reference of every config key (docs/configs.md, printed by `ember config docs`).
// Each recipe describes its own section beside its code (train/config.h: the shared sections and
// pretraining's model / data; train/rl/rl_config.h, train/distill/distill_config.h, train/bench.h);
// the reference is assembled here, in the CLI, the one place that knows every recipe, so that no
// recipe's config includes another's. A new recipe adds its section to config_reference.cpp.
#pragma once

#include <string>

namespace ember::apps {

/// Every section with its keys, types, defaults and docs, in the order of docs/configs.md.
std::string config_reference_markdown();

}  // namespace ember::apps
