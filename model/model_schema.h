// The `model.*` section of every config schema: the architecture keys, their documentation and
// checks, bound to a ModelConfig. Recipes add it to their schemas; checkpoints read a saved
// architecture back through it without the trainer.
#pragma once

#include "core/config/schema.h"
#include "model/model_config.h"

namespace ember::model {

/// Adds the `model.*` keys bound to `c` (and their cross-key checks) to `schema`.
void describe_model(config::Schema& schema, ModelConfig& c);

}  // namespace ember::model
