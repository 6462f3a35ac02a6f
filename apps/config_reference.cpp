// The config reference assembled from every recipe's schema (see config_reference.h).
#include "apps/config_reference.h"

#include "core/config/schema.h"
#include "train/bench.h"
#include "train/config.h"
#include "train/distill/distill_config.h"
#include "train/rl/rl_config.h"

namespace ember::apps {

std::string config_reference_markdown() {
  // The schema binds each key to a member: the structs outlive it, and their values are the defaults.
  train::PretrainConfig pretrain;
  train::rl::RlOptions rl;
  train::distill::DistillOptions distill;
  train::BenchConfig bench;
  config::Schema schema;
  train::describe_pretrain(schema, pretrain);
  train::rl::describe_rl_options(schema, rl);
  train::distill::describe_distill_options(schema, distill);
  train::describe_bench(schema, bench);
  return schema.to_markdown("Config reference");
}

}  // namespace ember::apps
