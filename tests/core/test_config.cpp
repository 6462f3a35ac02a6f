// Config system: merge order, overrides, base inheritance, YAML round trip and every error path.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/config/loader.h"
#include "core/config/schema.h"
#include "core/error.h"

namespace fs = std::filesystem;
using namespace ember;
using namespace ember::config;

namespace {

struct Sample {
  int64_t steps = 10;
  double lr = 1e-3;
  bool fused = false;
  std::string schedule = "cosine";
  std::string dir = "runs/x";
  std::vector<std::string> files;
  std::vector<double> weights;
  int heads = 4;
  int kv_heads = 4;
};

void describe(Schema& schema, Sample& s) {
  schema.section("train", "Training loop.");
  schema.add("train.steps", s.steps, "Optimizer steps.").min(1);
  schema.add("train.fused", s.fused, "Fused kernels.");
  schema.section("optim", "Optimizer.");
  schema.add("optim.lr", s.lr, "Peak learning rate.").min(0);
  schema.add("optim.schedule", s.schedule, "LR schedule.").choices({"constant", "cosine", "wsd"});
  schema.section("run", "Run.");
  schema.add("run.dir", s.dir, "Run directory.");
  schema.section("data", "Data.");
  schema.add("data.files", s.files, "Files.");
  schema.add("data.weights", s.weights, "Weights.");
  schema.section("model", "Model.");
  schema.add("model.heads", s.heads, "Heads.").min(1);
  schema.add("model.kv_heads", s.kv_heads, "KV heads.").min(1);
  schema.add_check([&s]() -> std::optional<std::string> {
    if (s.heads % s.kv_heads != 0) return "model.heads must be divisible by model.kv_heads";
    return std::nullopt;
  });
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ember_config_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "sub");
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    std::ofstream(path) << text;
    return path;
  }

  // Resolves into a fresh Sample and returns it.
  Sample resolve_sample(const fs::path& file, const std::vector<std::string>& overrides = {}) {
    Sample sample;
    Schema schema;
    describe(schema, sample);
    resolve(schema, file, overrides);
    return sample;
  }

  // Returns the UsageError message of a failing resolve.
  std::string error_of(const fs::path& file, const std::vector<std::string>& overrides = {}) {
    try {
      resolve_sample(file, overrides);
    } catch (const UsageError& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected a UsageError";
    return "";
  }

  fs::path dir_;
};

}  // namespace

TEST_F(ConfigTest, DefaultsWhenNothingIsGiven) {
  Sample s = resolve_sample("");
  EXPECT_EQ(s.steps, 10);
  EXPECT_EQ(s.schedule, "cosine");
}

TEST_F(ConfigTest, FileSetsNestedAndDottedKeys) {
  auto file = write("a.yaml", "train:\n  steps: 7\noptim.lr: 0.5\ndata:\n  files: [x.h5, y.h5]\n  weights: [0.25, 0.75]\n");
  Sample s = resolve_sample(file);
  EXPECT_EQ(s.steps, 7);
  EXPECT_DOUBLE_EQ(s.lr, 0.5);
  EXPECT_EQ(s.files, (std::vector<std::string>{"x.h5", "y.h5"}));
  EXPECT_EQ(s.weights, (std::vector<double>{0.25, 0.75}));
}

TEST_F(ConfigTest, MergeOrderDefaultsBasesFileOverrides) {
  write("sub/base1.yaml", "train: {steps: 1, fused: true}\noptim: {lr: 0.1, schedule: wsd}\nrun: {dir: one}\n");
  write("sub/base2.yaml", "train: {steps: 2}\noptim: {lr: 0.2}\n");
  auto file = write("top.yaml", "base: [sub/base1.yaml, sub/base2.yaml]\ntrain: {steps: 3}\n");
  Sample s = resolve_sample(file, {"optim.lr=0.4"});
  EXPECT_EQ(s.steps, 3);          // the file beats its bases
  EXPECT_DOUBLE_EQ(s.lr, 0.4);    // overrides beat the file
  EXPECT_EQ(s.schedule, "wsd");   // from the first base, untouched later
  EXPECT_TRUE(s.fused);
  EXPECT_EQ(s.dir, "one");
  EXPECT_EQ(s.heads, 4);          // default
}

TEST_F(ConfigTest, BasePathsAreRelativeToTheIncludingFile) {
  write("sub/leaf.yaml", "train: {steps: 5}\n");
  write("sub/mid.yaml", "base: leaf.yaml\noptim: {lr: 0.3}\n");
  auto file = write("top.yaml", "base: sub/mid.yaml\n");
  Sample s = resolve_sample(file);
  EXPECT_EQ(s.steps, 5);
  EXPECT_DOUBLE_EQ(s.lr, 0.3);
}

TEST_F(ConfigTest, LaterOverridesWin) {
  Sample s = resolve_sample("", {"train.steps=4", "train.steps=9", "data.files=[a, b]"});
  EXPECT_EQ(s.steps, 9);
  EXPECT_EQ(s.files.size(), 2u);
}

TEST_F(ConfigTest, PrintedConfigRoundTrips) {
  auto file = write("a.yaml", "train: {steps: 12, fused: true}\noptim: {lr: 3.0e-4, schedule: wsd}\n"
                              "data: {files: [p.h5], weights: [1.0]}\nrun: {dir: '123'}\n");
  Sample first;
  Schema schema_first;
  describe(schema_first, first);
  resolve(schema_first, file, {"optim.lr=0.1234567890123"});
  auto printed = write("printed.yaml", schema_first.to_yaml());

  Sample second;
  Schema schema_second;
  describe(schema_second, second);
  resolve(schema_second, printed, {});
  EXPECT_EQ(schema_second.to_yaml(), schema_first.to_yaml());
  EXPECT_EQ(second.steps, 12);
  EXPECT_DOUBLE_EQ(second.lr, 0.1234567890123);
  EXPECT_EQ(second.dir, "123");
  EXPECT_EQ(second.files, first.files);
}

TEST_F(ConfigTest, UnknownKeyInFileNamesKeyFileAndSuggestion) {
  auto file = write("typo.yaml", "train:\n  stesp: 5\n");
  auto message = error_of(file);
  EXPECT_NE(message.find("train.stesp"), std::string::npos) << message;
  EXPECT_NE(message.find("typo.yaml"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'train.steps'"), std::string::npos) << message;
}

TEST_F(ConfigTest, UnknownOverrideKeyNamesTheOverride) {
  auto message = error_of("", {"optim.lrr=3"});
  EXPECT_NE(message.find("optim.lrr"), std::string::npos) << message;
  EXPECT_NE(message.find("override"), std::string::npos) << message;
  EXPECT_NE(message.find("optim.lr'"), std::string::npos) << message;
}

TEST_F(ConfigTest, RightLeafWrongSectionIsSuggested) {
  auto message = error_of("", {"optim.steps=3"});
  EXPECT_NE(message.find("did you mean 'train.steps'"), std::string::npos) << message;
}

TEST_F(ConfigTest, WrongTypeNamesKeyAndValue) {
  auto message = error_of("", {"train.steps=banana"});
  EXPECT_NE(message.find("train.steps"), std::string::npos) << message;
  EXPECT_NE(message.find("banana"), std::string::npos) << message;
  EXPECT_NE(message.find("integer"), std::string::npos) << message;
  EXPECT_NE(error_of("", {"train.fused=maybe"}).find("true or false"), std::string::npos);
  EXPECT_NE(error_of("", {"train.steps=[1, 2]"}).find("a list"), std::string::npos);
  EXPECT_NE(error_of("", {"optim.lr=fast"}).find("a number"), std::string::npos);
}

TEST_F(ConfigTest, WrongTypeInFileNamesTheFile) {
  auto file = write("bad.yaml", "optim:\n  lr: [1, 2]\n");
  auto message = error_of(file);
  EXPECT_NE(message.find("optim.lr"), std::string::npos) << message;
  EXPECT_NE(message.find("bad.yaml"), std::string::npos) << message;
}

TEST_F(ConfigTest, InvalidValuesAreRejected) {
  EXPECT_NE(error_of("", {"train.steps=0"}).find(">= 1"), std::string::npos);
  EXPECT_NE(error_of("", {"optim.lr=-1"}).find(">= 0"), std::string::npos);
  EXPECT_NE(error_of("", {"optim.lr=.inf"}).find("finite"), std::string::npos);
  EXPECT_NE(error_of("", {"optim.lr=.nan"}).find("NaN"), std::string::npos);
  auto message = error_of("", {"optim.schedule=linear"});
  EXPECT_NE(message.find("one of [constant, cosine, wsd]"), std::string::npos) << message;
}

TEST_F(ConfigTest, CrossFieldChecksRunAfterAllKeys) {
  auto message = error_of("", {"model.heads=6", "model.kv_heads=4"});
  EXPECT_NE(message.find("divisible"), std::string::npos) << message;
  EXPECT_NO_THROW(resolve_sample("", {"model.heads=8", "model.kv_heads=2"}));
}

TEST_F(ConfigTest, MissingFileErrors) {
  EXPECT_NE(error_of(dir_ / "nope.yaml").find("not found"), std::string::npos);
  EXPECT_NE(error_of(dir_ / "sub").find("is a directory"), std::string::npos);
  auto file = write("top.yaml", "base: missing.yaml\n");
  auto message = error_of(file);
  EXPECT_NE(message.find("missing.yaml"), std::string::npos) << message;
  EXPECT_NE(message.find("a base of"), std::string::npos) << message;
}

TEST_F(ConfigTest, MalformedYamlNamesFileAndLine) {
  auto file = write("broken.yaml", "train:\n  steps: [1, 2\n");
  auto message = error_of(file);
  EXPECT_NE(message.find("broken.yaml"), std::string::npos) << message;
  EXPECT_NE(message.find("line"), std::string::npos) << message;
}

TEST_F(ConfigTest, NonMappingDocumentIsRejected) {
  auto file = write("list.yaml", "- a\n- b\n");
  EXPECT_NE(error_of(file).find("must be a mapping"), std::string::npos);
}

TEST_F(ConfigTest, BaseCycleIsRejected) {
  write("a.yaml", "base: b.yaml\n");
  auto file = write("b.yaml", "base: a.yaml\n");
  EXPECT_NE(error_of(file).find("includes itself"), std::string::npos);
}

// Found by fuzz_config: a mapping that contains itself through an alias overflowed the stack.
TEST_F(ConfigTest, SelfReferentialAliasIsRejected) {
  const std::string yaml = "defaults: &d {steps: *d}\ntrain: *d\n";
  auto file = write("alias.yaml", yaml);
  auto message = error_of(file);
  EXPECT_NE(message.find("alias.yaml"), std::string::npos) << message;
  EXPECT_NE(message.find("'defaults.steps' contains itself through an alias"), std::string::npos) << message;
  EXPECT_THROW(load_text(yaml, "text"), UsageError);
}

TEST_F(ConfigTest, AliasBlowUpIsBounded) {
  std::string yaml = "l0: &l0 {a: 1, b: 2}\n";
  for (int level = 1; level <= 20; ++level) {  // 2^21 keys if expanded
    yaml += fmt::format("l{0}: &l{0} {{a: *l{1}, b: *l{1}}}\n", level, level - 1);
  }
  try {
    load_text(yaml, "text");
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("more than 100000 keys"), std::string::npos) << e.what();
  }
}

TEST_F(ConfigTest, SharedAliasIsFine) {
  auto raw = load_text("base_lr: &lr {lr: 0.5}\ntrain: *lr\n", "text");
  EXPECT_TRUE(raw.contains("train.lr"));
  EXPECT_TRUE(raw.contains("base_lr.lr"));
}

TEST_F(ConfigTest, BadBaseTypeIsRejected) {
  auto file = write("a.yaml", "base: {x: 1}\n");
  EXPECT_NE(error_of(file).find("'base' must be"), std::string::npos);
}

TEST_F(ConfigTest, MalformedOverrideIsRejected) {
  EXPECT_NE(error_of("", {"train.steps"}).find("key=value"), std::string::npos);
  EXPECT_NE(error_of("", {"=3"}).find("key=value"), std::string::npos);
  EXPECT_NE(error_of("", {"train.steps=[1"}).find("not valid YAML"), std::string::npos);
}

TEST_F(ConfigTest, DuplicateKeysNameTheKeyTheFileAndBothLines) {
  auto top = write("top.yaml", "train:\n  steps: 5\noptim:\n  lr: 0.1\ntrain:\n  fused: true\n");
  auto message = error_of(top);
  EXPECT_NE(message.find("top.yaml"), std::string::npos) << message;
  EXPECT_NE(message.find("key 'train' is given twice in one mapping (lines 1 and 5)"), std::string::npos) << message;

  auto nested = write("nested.yaml", "optim:\n  lr: 0.1\n  schedule: wsd\n  lr: 0.2\n");
  message = error_of(nested);
  EXPECT_NE(message.find("key 'optim.lr' is given twice in one mapping (lines 2 and 4)"), std::string::npos)
      << message;

  auto dotted = write("dotted.yaml", "optim.lr: 0.1\noptim:\n  lr: 0.2\n");
  message = error_of(dotted);
  EXPECT_NE(message.find("key 'optim.lr' is given twice (lines 1 and 3)"), std::string::npos) << message;

  EXPECT_THROW(load_text("a: 1\na: 2\n", "text"), UsageError);
  // A file may still override its base, and a later override the file.
  write("base.yaml", "train:\n  steps: 5\n");
  auto child = write("child.yaml", "base: base.yaml\ntrain:\n  steps: 6\n");
  EXPECT_EQ(resolve_sample(child, {"train.steps=7"}).steps, 7);
  EXPECT_EQ(resolve_sample(child).steps, 6);
}

TEST_F(ConfigTest, SectionPrefixAloneIsUnknown) {
  auto file = write("a.yaml", "train: 5\n");
  auto message = error_of(file);
  EXPECT_NE(message.find("unknown config key 'train'"), std::string::npos) << message;
}

TEST_F(ConfigTest, MarkdownListsEveryKey) {
  Sample s;
  Schema schema;
  describe(schema, s);
  auto md = schema.to_markdown("Sample");
  for (const auto& field : schema.fields()) EXPECT_NE(md.find("`" + field.key() + "`"), std::string::npos);
  EXPECT_NE(md.find("`cosine`"), std::string::npos);
}
