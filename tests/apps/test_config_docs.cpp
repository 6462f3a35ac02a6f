// docs/configs.md is the reference the CLI assembles from every recipe's schema
// (apps/config_reference.h); this test fails when they drift apart (regenerate with:
// build/bin/ember config docs > docs/configs.md).
#include <gtest/gtest.h>

#include <string>

#include "apps/config_reference.h"
#include "core/files.h"

TEST(ConfigDocs, DocsFileMatchesSchema) {
  auto documented = ember::read_file(std::string(EMBER_SOURCE_DIR) + "/docs/configs.md");
  EXPECT_EQ(documented, ember::apps::config_reference_markdown())
      << "docs/configs.md is stale: run `build/bin/ember config docs > docs/configs.md`";
}

TEST(ConfigDocs, EveryRecipeSectionIsInTheReference) {
  const auto reference = ember::apps::config_reference_markdown();
  for (const std::string section : {"run", "train", "optim", "checkpoint", "parallel", "metrics", "model", "data",
                                    "rl", "distill", "bench"}) {
    EXPECT_NE(reference.find("\n## `" + section + "`\n"), std::string::npos) << "section " << section;
  }
}
