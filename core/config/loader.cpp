// YAML config files with base inheritance, and key=value overrides (see loader.h).
#include "core/config/loader.h"

#include <algorithm>
#include <map>
#include <vector>

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"

namespace ember::config {
namespace {

/// More flattened keys than any real config has; bounds documents that aliases blow up
/// (`b: {x: *a, y: *a}`, `c: {x: *b, y: *b}`, ... doubles the keys at every level).
constexpr size_t kMaxKeys = 100'000;

/// Refuses a mapping that names one key twice (YAML parsers keep one of them silently), naming
/// the key and both lines.
void refuse_duplicate_keys(const YAML::Node& mapping, const std::string& prefix, const std::string& origin) {
  std::map<std::string, int> first_line;
  for (const auto& entry : mapping) {
    if (!entry.first.IsScalar()) continue;
    const int line = entry.first.Mark().line + 1;
    auto [found, inserted] = first_line.emplace(entry.first.Scalar(), line);
    if (inserted) continue;
    const std::string key = prefix.empty() ? entry.first.Scalar() : prefix + "." + entry.first.Scalar();
    fail_usage("{}: key '{}' is given twice in one mapping (lines {} and {}); keep one", origin, key, found->second,
               line);
  }
}

/// Flattens `node` under `prefix`. `open_maps` holds the mappings being flattened, so that an
/// alias to one of them (`a: &x {b: *x}`) is refused instead of recursing forever.
void flatten(const YAML::Node& node, const std::string& prefix, const std::string& origin, RawConfig& out,
             std::vector<YAML::Node>& open_maps) {
  for (const auto& open : open_maps) {
    if (open.is(node)) fail_usage("{}: '{}' contains itself through an alias", origin, prefix);
  }
  refuse_duplicate_keys(node, prefix, origin);
  open_maps.push_back(node);
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) fail_usage("{}: mapping keys must be plain names", origin);
    std::string key = prefix.empty() ? entry.first.Scalar() : prefix + "." + entry.first.Scalar();
    if (entry.second.IsMap() && entry.second.size() > 0) {
      flatten(entry.second, key, origin, out, open_maps);
    } else {
      if (out.contains(key)) {
        fail_usage("{}: key '{}' is given twice (lines {} and {}); keep one", origin, key,
                   out.at(key).node.Mark().line + 1, entry.first.Mark().line + 1);
      }
      out.set(key, RawValue{entry.second, origin});
      if (out.keys().size() > kMaxKeys) fail_usage("{}: more than {} keys", origin, kMaxKeys);
    }
  }
  open_maps.pop_back();
}

/// Flattens a document's top-level mapping into `out`.
void flatten_document(const YAML::Node& document, const std::string& origin, RawConfig& out) {
  std::vector<YAML::Node> open_maps;
  flatten(document, "", origin, out, open_maps);
}

RawConfig load_recursive(const std::filesystem::path& path, std::vector<std::filesystem::path>& stack) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(path, ec);
  if (std::find(stack.begin(), stack.end(), canonical) != stack.end()) {
    fail_usage("config file '{}' includes itself through 'base'", path.string());
  }
  if (!std::filesystem::exists(path)) {
    if (stack.empty()) fail_usage("config file not found: '{}'", path.string());
    fail_usage("config file not found: '{}' (a base of '{}')", path.string(), stack.back().string());
  }
  if (std::filesystem::is_directory(path)) fail_usage("config file '{}' is a directory", path.string());
  std::string origin = "file '" + path.string() + "'";
  YAML::Node document;
  try {
    document = YAML::Load(read_file(path));
  } catch (const YAML::Exception& e) {
    fail_usage("{}: invalid YAML at line {}, column {}: {}", origin, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  RawConfig result;
  if (document.IsNull()) return result;
  if (!document.IsMap()) fail_usage("{}: a config file must be a mapping of keys to values", origin);
  refuse_duplicate_keys(document, "", origin);

  stack.push_back(canonical);
  if (const YAML::Node base = document["base"]) {
    std::vector<std::string> bases;
    if (base.IsScalar()) {
      bases.push_back(base.Scalar());
    } else if (base.IsSequence()) {
      for (const auto& item : base) {
        if (!item.IsScalar()) fail_usage("{}: 'base' must list file paths", origin);
        bases.push_back(item.Scalar());
      }
    } else {
      fail_usage("{}: 'base' must be a file path or a list of them", origin);
    }
    for (const auto& relative : bases) {
      result.merge(load_recursive(path.parent_path() / relative, stack));
    }
  }
  stack.pop_back();

  YAML::Node own(YAML::NodeType::Map);
  for (const auto& entry : document) {
    if (entry.first.IsScalar() && entry.first.Scalar() == "base") continue;
    own[entry.first] = entry.second;
  }
  RawConfig mine;
  flatten_document(own, origin, mine);
  result.merge(mine);
  return result;
}

}  // namespace

RawConfig load_file(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> stack;
  return load_recursive(path, stack);
}

RawConfig load_text(const std::string& yaml, const std::string& origin) {
  YAML::Node document;
  try {
    document = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    fail_usage("{}: invalid YAML at line {}, column {}: {}", origin, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  RawConfig result;
  if (document.IsNull()) return result;
  if (!document.IsMap()) fail_usage("{}: a config must be a mapping of keys to values", origin);
  flatten_document(document, origin, result);
  return result;
}

RawConfig parse_override(const std::string& text) {
  size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0) {
    fail_usage("override '{}' must look like key=value (for example train.steps=100)", text);
  }
  std::string key(trim(std::string_view(text).substr(0, equals)));
  std::string value_text(text.substr(equals + 1));
  std::string origin = "override '" + text + "'";
  YAML::Node value;
  try {
    value = YAML::Load(value_text);
  } catch (const YAML::Exception& e) {
    fail_usage("{}: value is not valid YAML: {}", origin, e.msg);
  }
  if (value_text.empty()) value = YAML::Node(std::string());
  RawConfig raw;
  raw.set(key, RawValue{value, origin});
  return raw;
}

void resolve(Schema& schema, const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  RawConfig raw;
  if (!file.empty()) raw = load_file(file);
  for (const auto& text : overrides) raw.merge(parse_override(text));
  schema.apply(raw);
}

}  // namespace ember::config
