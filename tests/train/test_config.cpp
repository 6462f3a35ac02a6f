// The pretraining schema (train/config.h) resolves the shipped nano config: every key in
// configs/nano/pretrain.yaml is known, typed and valid.
#include <gtest/gtest.h>

#include <string>

#include "core/config/loader.h"
#include "train/config.h"

TEST(Config, NanoPretrainConfigResolves) {
  ember::train::PretrainConfig config;
  ember::config::Schema schema;
  ember::train::describe_pretrain(schema, config);
  EXPECT_NO_THROW(ember::config::resolve(schema, std::string(EMBER_SOURCE_DIR) + "/configs/nano/pretrain.yaml", {}));
  EXPECT_GT(config.train.steps, 0);
  EXPECT_FALSE(config.data.train.empty());
}
