// libFuzzer target: parse_hf_config on any JSON document (text that is not JSON is refused by
// the JSON reader before Ember sees it, as in hf_import.cpp). Refusals must be ember::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "export/hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json config = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded()) return 0;
  try {
    const auto imported = ember::exporting::parse_hf_config(config, "fuzz-input/config.json");
    ember::exporting::SpecialTokens special;
    special.bos = imported.bos_token_id;
    special.eos = imported.eos_token_id.empty() ? std::vector<int64_t>{0} : imported.eos_token_id;
    special.pad = imported.pad_token_id;
    (void)ember::exporting::hf_config_json(imported.model, special, "float32");  // the export direction
  } catch (const ember::Error&) {
  }
  return 0;
}
