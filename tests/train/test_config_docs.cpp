// docs/configs.md is generated from the schema; this test fails when they drift apart
// (regenerate with: build/bin/ember config docs > docs/configs.md).
#include <gtest/gtest.h>

#include "core/files.h"
#include "core/config/loader.h"
#include "train/config.h"

TEST(ConfigDocs, DocsFileMatchesSchema) {
  auto documented = ember::read_file(std::string(EMBER_SOURCE_DIR) + "/docs/configs.md");
  EXPECT_EQ(documented, ember::train::config_reference_markdown())
      << "docs/configs.md is stale: run `build/bin/ember config docs > docs/configs.md`";
}

TEST(ConfigDocs, NanoConfigResolves) {
  ember::train::PretrainConfig config;
  ember::config::Schema schema;
  ember::train::describe_pretrain(schema, config);
  EXPECT_NO_THROW(ember::config::resolve(schema, std::string(EMBER_SOURCE_DIR) + "/configs/nano/pretrain.yaml", {}));
  EXPECT_GT(config.train.steps, 0);
  EXPECT_FALSE(config.data.train.empty());
}
