// The typed config schema (see schema.h).
#include "core/config/schema.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/strings.h"

namespace ember::config {

// ----------------------------------------------------------------------------- RawConfig

void RawConfig::set(const std::string& key, RawValue value) {
  if (!values_.count(key)) order_.push_back(key);
  values_[key] = std::move(value);
}

void RawConfig::merge(const RawConfig& other) {
  for (const auto& key : other.keys()) set(key, other.at(key));
}

// ----------------------------------------------------------------------------- Field

namespace {

std::string node_text(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

/// The shortest text that reads back as exactly `value` ("0.1", not yaml-cpp's
/// "0.10000000000000001"), so printed configs and docs/configs.md show what a person wrote.
std::string shortest_text(double value) { return fmt::format("{}", value); }

template <typename T>
T scalar_as(const YAML::Node& node, const char* type_name) {
  if (!node.IsScalar()) {
    throw std::invalid_argument(fmt::format("expected {}, got {}", type_name,
                                            node.IsSequence() ? "a list" : node.IsMap() ? "a mapping" : "nothing"));
  }
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    throw std::invalid_argument(fmt::format("expected {}, got '{}'", type_name, node.Scalar()));
  }
}

template <typename T>
std::vector<T> sequence_as(const YAML::Node& node, const char* type_name) {
  std::vector<T> values;
  if (node.IsScalar()) {  // a single value is a list of one
    values.push_back(scalar_as<T>(node, type_name));
    return values;
  }
  if (!node.IsSequence()) throw std::invalid_argument(fmt::format("expected a list of {}", type_name));
  for (const auto& item : node) values.push_back(scalar_as<T>(item, type_name));
  return values;
}

}  // namespace

Field::Field(std::string key, std::string type_name, std::string doc, Parser parse, Emitter emit)
    : key_(std::move(key)), type_name_(std::move(type_name)), doc_(std::move(doc)),
      parse_(std::move(parse)), emit_(std::move(emit)) {}

Field& Field::min(double bound) { min_ = bound; return *this; }
Field& Field::max(double bound) { max_ = bound; return *this; }
Field& Field::choices(std::vector<std::string> allowed) { choices_ = std::move(allowed); return *this; }
Field& Field::check(Check validate) { checks_.push_back(std::move(validate)); return *this; }

void Field::capture_default() { default_text_ = node_text(emit_()); }

std::optional<std::string> Field::validate() const {
  if (numeric_value_) {
    double value = numeric_value_();
    if (std::isnan(value)) return std::string("must be a number, got NaN");
    if (min_ && value < *min_) return fmt::format("must be >= {}, got {}", *min_, value);
    if (max_ && value > *max_) return fmt::format("must be <= {}, got {}", *max_, value);
  }
  if (!choices_.empty() && string_value_) {
    auto value = string_value_();
    if (std::find(choices_.begin(), choices_.end(), value) == choices_.end()) {
      return fmt::format("must be one of [{}], got '{}'", fmt::join(choices_, ", "), value);
    }
  }
  for (const auto& check : checks_) {
    if (auto problem = check()) return problem;
  }
  return std::nullopt;
}

void Field::assign(const YAML::Node& node, const std::string& origin) {
  try {
    parse_(node);
  } catch (const std::invalid_argument& e) {
    fail_usage("config key '{}' ({}): {}", key_, origin, e.what());
  }
  if (auto problem = validate()) fail_usage("config key '{}' ({}): {}", key_, origin, *problem);
}

// ----------------------------------------------------------------------------- Schema

void Schema::section(const std::string& name, const std::string& doc) { sections_.emplace_back(name, doc); }

Field& Schema::push(Field field) {
  if (find(field.key())) throw std::logic_error("config key registered twice: " + field.key());
  field.capture_default();
  fields_.push_back(std::move(field));
  return fields_.back();
}

Field& Schema::add(const std::string& key, bool& target, const std::string& doc) {
  return push(Field(key, "bool", doc,
                    [&target](const YAML::Node& n) { target = scalar_as<bool>(n, "true or false"); },
                    [&target] { return YAML::Node(target); }));
}

Field& Schema::add(const std::string& key, int& target, const std::string& doc) {
  Field& field = push(Field(key, "int", doc,
                            [&target](const YAML::Node& n) { target = scalar_as<int>(n, "an integer"); },
                            [&target] { return YAML::Node(target); }));
  field.numeric_value_ = [&target] { return double(target); };
  return field;
}

Field& Schema::add(const std::string& key, int64_t& target, const std::string& doc) {
  Field& field = push(Field(key, "int", doc,
                            [&target](const YAML::Node& n) { target = scalar_as<int64_t>(n, "an integer"); },
                            [&target] { return YAML::Node(target); }));
  field.numeric_value_ = [&target] { return double(target); };
  return field;
}

Field& Schema::add(const std::string& key, double& target, const std::string& doc) {
  Field& field = push(Field(key, "float", doc,
                            [&target](const YAML::Node& n) { target = scalar_as<double>(n, "a number"); },
                            [&target] { return YAML::Node(shortest_text(target)); }));
  field.numeric_value_ = [&target] { return target; };
  field.check([&target]() -> std::optional<std::string> {
    if (std::isinf(target)) return std::string("must be finite");
    return std::nullopt;
  });
  return field;
}

Field& Schema::add(const std::string& key, std::string& target, const std::string& doc) {
  Field& field = push(Field(key, "string", doc,
                            [&target](const YAML::Node& n) { target = scalar_as<std::string>(n, "a string"); },
                            [&target] { return YAML::Node(target); }));
  field.string_value_ = [&target] { return target; };
  return field;
}

Field& Schema::add(const std::string& key, std::vector<std::string>& target, const std::string& doc) {
  return push(Field(key, "list of strings", doc,
                    [&target](const YAML::Node& n) { target = sequence_as<std::string>(n, "strings"); },
                    [&target] {
                      YAML::Node node(YAML::NodeType::Sequence);
                      for (const auto& v : target) node.push_back(v);
                      return node;
                    }));
}

Field& Schema::add(const std::string& key, std::vector<double>& target, const std::string& doc) {
  return push(Field(key, "list of floats", doc,
                    [&target](const YAML::Node& n) { target = sequence_as<double>(n, "numbers"); },
                    [&target] {
                      YAML::Node node(YAML::NodeType::Sequence);
                      for (double v : target) node.push_back(shortest_text(v));
                      return node;
                    }));
}

void Schema::add_check(std::function<std::optional<std::string>()> check) { checks_.push_back(std::move(check)); }

const Field* Schema::find(const std::string& key) const {
  for (const auto& field : fields_) {
    if (field.key() == key) return &field;
  }
  return nullptr;
}

std::optional<std::string> Schema::closest_key(const std::string& key) const {
  std::optional<std::string> best;
  size_t best_distance = std::max<size_t>(2, key.size() / 3) + 1;
  auto leaf = [](const std::string& k) { return k.substr(k.rfind('.') + 1); };
  for (const auto& field : fields_) {
    size_t distance = edit_distance(key, field.key());
    // A right leaf name under the wrong section ("optim.steps") is a near miss too.
    if (leaf(key) == leaf(field.key())) distance = std::min<size_t>(distance, 2);
    if (distance < best_distance) {
      best_distance = distance;
      best = field.key();
    }
  }
  return best;
}

void Schema::apply(const RawConfig& raw) {
  for (const auto& key : raw.keys()) {
    const RawValue& value = raw.at(key);
    auto it = std::find_if(fields_.begin(), fields_.end(), [&](const Field& f) { return f.key() == key; });
    if (it == fields_.end()) {
      auto suggestion = closest_key(key);
      fail_usage("unknown config key '{}' ({}){}", key, value.origin,
                 suggestion ? fmt::format("; did you mean '{}'?", *suggestion) : std::string());
    }
    it->assign(value.node, value.origin);
  }
  for (const auto& check : checks_) {
    if (auto problem = check()) fail_usage("invalid config: {}", *problem);
  }
}

std::string Schema::to_yaml() const {
  YAML::Node root(YAML::NodeType::Map);
  for (const auto& field : fields_) {
    auto parts = split(field.key(), '.');
    // Walk down by reassigning a node handle, creating maps as needed.
    std::vector<YAML::Node> path{root};
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      YAML::Node child = path.back()[parts[i]];
      if (!child.IsMap()) child = YAML::Node(YAML::NodeType::Map);
      path.back()[parts[i]] = child;
      path.push_back(child);
    }
    path.back()[parts.back()] = field.emit();
  }
  YAML::Emitter out;
  out.SetFloatPrecision(17);
  out.SetDoublePrecision(17);
  out << root;
  return std::string(out.c_str()) + "\n";
}

std::string Schema::to_markdown(const std::string& title) const {
  std::ostringstream md;
  md << "# " << title << "\n\n"
     << "Generated from the config schema by `ember config docs`; a unit test keeps it in sync.\n"
     << "Configs are YAML files; `base: [file, ...]` includes other files (paths relative to the\n"
     << "including file; later files and the including file win), and `key=value` arguments on the\n"
     << "command line override any key. Unknown keys, wrong types and invalid values stop the run.\n";
  for (const auto& [name, doc] : sections_) {
    md << "\n## `" << name << "`\n\n" << doc << "\n\n| key | type | default | description |\n|---|---|---|---|\n";
    for (const auto& field : fields_) {
      if (field.key().rfind(name + ".", 0) != 0) continue;
      std::string description = field.doc();
      if (!field.allowed().empty()) description += fmt::format(" One of: `{}`.", fmt::join(field.allowed(), "`, `"));
      md << "| `" << field.key() << "` | " << field.type_name() << " | `" << field.default_text() << "` | "
         << description << " |\n";
    }
  }
  return md.str();
}

}  // namespace ember::config
