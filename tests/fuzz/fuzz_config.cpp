// libFuzzer target: the config loader on arbitrary text, as a YAML document (load_text) and as a
// command-line override (parse_override), each applied to a small schema with every field type,
// range and choice checks. Refusals must be ember::Error (UsageError for bad configs).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config/loader.h"
#include "core/config/schema.h"
#include "core/error.h"

namespace {

struct SmallConfig {
  bool flag = false;
  int steps = 10;
  int64_t tokens = 1000;
  double lr = 1e-3;
  std::string mode = "auto";
  std::vector<std::string> names{"a"};
  std::vector<double> weights{1.0};
};

/// Applies `raw` to a fresh schema and emits the result, as the CLI does.
void apply_to_schema(const ember::config::RawConfig& raw) {
  SmallConfig config;
  ember::config::Schema schema;
  schema.section("train", "Loop");
  schema.add("train.flag", config.flag, "A switch");
  schema.add("train.steps", config.steps, "Steps").min(1).max(1000000);
  schema.add("train.tokens", config.tokens, "Tokens").min(0);
  schema.add("train.lr", config.lr, "Learning rate").min(0);
  schema.add("train.mode", config.mode, "Mode").choices({"auto", "never", "always"});
  schema.section("data", "Data");
  schema.add("data.names", config.names, "Names");
  schema.add("data.weights", config.weights, "Weights");
  schema.add_check([&]() -> std::optional<std::string> {
    if (config.names.size() != config.weights.size()) return "data.names and data.weights differ in length";
    return std::nullopt;
  });
  schema.apply(raw);
  (void)schema.to_yaml();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    apply_to_schema(ember::config::load_text(text, "fuzz-input"));
  } catch (const ember::Error&) {
  }
  try {
    apply_to_schema(ember::config::parse_override(text));
  } catch (const ember::Error&) {
  }
  return 0;
}
