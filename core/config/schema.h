// The typed config schema. Every option is a Field bound to a member of a plain config struct:
// it has a dotted key, a type, a default (the member's value when registered), a one-line doc,
// and optional range / choice checks. Raw YAML (files with `base:` inheritance plus key=value
// overrides, see loader.h) is applied to the schema; anything unknown, mistyped or invalid fails
// with a UsageError naming the key, where it came from, and the closest valid key.
//
//   Schema schema;
//   schema.section("train", "Optimisation loop");
//   schema.add("train.steps", cfg.train.steps, "Optimizer steps to run").min(1);
//   schema.apply(load_config_file("run.yaml"));
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace ember::config {

/// A raw value from a file or an override, before it is typed.
struct RawValue {
  YAML::Node node;
  std::string origin;  ///< "file 'a.yaml'" or "override 'train.steps=3'"
};

/// Flattened raw config: dotted key -> value, later entries override earlier ones.
class RawConfig {
 public:
  void set(const std::string& key, RawValue value);
  /// Copies every entry of `other` over this one.
  void merge(const RawConfig& other);
  const std::vector<std::string>& keys() const { return order_; }
  const RawValue& at(const std::string& key) const { return values_.at(key); }
  bool contains(const std::string& key) const { return values_.count(key) > 0; }

 private:
  std::vector<std::string> order_;
  std::map<std::string, RawValue> values_;
};

/// One typed option.
class Field {
 public:
  using Parser = std::function<void(const YAML::Node&)>;  // throws std::invalid_argument
  using Emitter = std::function<YAML::Node()>;
  using Check = std::function<std::optional<std::string>()>;  // error text or nothing

  Field(std::string key, std::string type_name, std::string doc, Parser parse, Emitter emit);

  /// Numeric lower / upper bounds (inclusive) for int and float fields.
  Field& min(double bound);
  Field& max(double bound);
  /// Allowed values of a string field.
  Field& choices(std::vector<std::string> allowed);
  /// Extra validation of this field's value: return an error text to reject it.
  Field& check(Check validate);

  const std::string& key() const { return key_; }
  const std::string& type_name() const { return type_name_; }
  const std::string& doc() const { return doc_; }
  const std::string& default_text() const { return default_text_; }
  const std::vector<std::string>& allowed() const { return choices_; }

  /// Parses and validates `node`; throws UsageError naming the key and `origin`.
  void assign(const YAML::Node& node, const std::string& origin);
  /// Validates the current value; returns an error text or nothing.
  std::optional<std::string> validate() const;
  YAML::Node emit() const { return emit_(); }
  /// Records the current value as the default shown in docs (called when registered).
  void capture_default();

 private:
  std::string key_, type_name_, doc_, default_text_;
  Parser parse_;
  Emitter emit_;
  std::optional<double> min_, max_;
  std::vector<std::string> choices_;
  std::vector<Check> checks_;
  std::function<double()> numeric_value_;
  std::function<std::string()> string_value_;
  friend class Schema;
};

class Schema {
 public:
  /// Starts a documentation section; fields whose key begins with `name.` belong to it.
  void section(const std::string& name, const std::string& doc);

  /// Binds a field to `target`; its current value becomes the default.
  Field& add(const std::string& key, bool& target, const std::string& doc);
  Field& add(const std::string& key, int& target, const std::string& doc);
  Field& add(const std::string& key, int64_t& target, const std::string& doc);
  Field& add(const std::string& key, double& target, const std::string& doc);
  Field& add(const std::string& key, std::string& target, const std::string& doc);
  Field& add(const std::string& key, std::vector<std::string>& target, const std::string& doc);
  Field& add(const std::string& key, std::vector<double>& target, const std::string& doc);

  /// A check across fields, run after every field is set (e.g. heads divisible by kv heads).
  void add_check(std::function<std::optional<std::string>()> check);

  /// Applies raw values; throws UsageError on the first unknown key, bad type or invalid value,
  /// then runs the cross-field checks.
  void apply(const RawConfig& raw);

  /// The fully resolved config as nested YAML (feeding it back gives the same config).
  std::string to_yaml() const;
  /// Markdown reference of every section and field (docs/configs.md).
  std::string to_markdown(const std::string& title) const;

  const Field* find(const std::string& key) const;
  /// The valid key closest to `key`, when one is close enough to be a likely typo.
  std::optional<std::string> closest_key(const std::string& key) const;
  const std::vector<Field>& fields() const { return fields_; }

 private:
  Field& push(Field field);
  std::vector<Field> fields_;
  std::vector<std::pair<std::string, std::string>> sections_;
  std::vector<std::function<std::optional<std::string>()>> checks_;
};

}  // namespace ember::config
