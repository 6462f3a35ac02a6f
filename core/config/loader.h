// Reads raw configs: YAML files with `base:` inheritance, and dotted key=value overrides.
//
// A config file is a YAML mapping. Nested mappings flatten to dotted keys (`train: {steps: 3}`
// is `train.steps`). `base: file` or `base: [a.yaml, b.yaml]` loads those files first (paths
// relative to the including file), in order, and then this file's keys override theirs.
// Merge order, lowest first: schema defaults < base files < the file < command-line overrides.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/config/schema.h"

namespace ember::config {

/// Loads a file and its bases. Throws UsageError naming the file on a missing file, bad YAML,
/// a non-mapping document or an inheritance cycle.
RawConfig load_file(const std::filesystem::path& path);

/// Flattens a YAML document given as text (no `base:` support); `origin` names it in errors.
RawConfig load_text(const std::string& yaml, const std::string& origin);

/// Parses "key=value" (value in YAML syntax, so `[a, b]` is a list). Throws UsageError otherwise.
RawConfig parse_override(const std::string& text);

/// Loads an optional file, then applies overrides in order, then sets the schema from the result.
void resolve(Schema& schema, const std::filesystem::path& file, const std::vector<std::string>& overrides);

}  // namespace ember::config
