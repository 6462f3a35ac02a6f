// Reading and writing tokenizer.json for byte-level BPE (see tokenizer_json.h).
#include "data/tokenizer/tokenizer_json.h"

#include <algorithm>

#include "core/error.h"

namespace ember::data {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

/// Reads an optional field, failing with the file and field named when its type is wrong.
template <typename T>
T field_or(const Json& object, const char* key, T fallback, const std::string& where, const std::string& source) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const Json::exception&) {
    fail_usage("{}: field '{}.{}' has the wrong type ({})", source, where, key, it->type_name());
  }
}

std::string type_of(const Json& object, const std::string& where, const std::string& source) {
  if (!object.is_object()) fail_usage("{}: '{}' must be an object or null", source, where);
  auto it = object.find("type");
  if (it == object.end() || !it->is_string()) fail_usage("{}: '{}' has no \"type\"", source, where);
  return it->get<std::string>();
}

void parse_normalizer(const Json& normalizer, const std::string& source, TokenizerSpec& spec) {
  if (normalizer.is_null()) return;
  std::string type = type_of(normalizer, "normalizer", source);
  if (type == "NFC") {
    spec.nfc = true;
    return;
  }
  if (type == "Sequence") {
    const Json& parts = normalizer.value("normalizers", Json::array());
    for (const Json& part : parts) parse_normalizer(part, source, spec);
    return;
  }
  fail_usage("{}: unsupported normalizer '{}' (Ember supports none, NFC, or a Sequence of NFC)", source, type);
}

struct ByteLevelOptions {
  bool add_prefix_space;
  bool use_regex;
};

ByteLevelOptions parse_byte_level(const Json& node, const std::string& source) {
  return ByteLevelOptions{field_or<bool>(node, "add_prefix_space", true, "pre_tokenizer", source),
                          field_or<bool>(node, "use_regex", true, "pre_tokenizer", source)};
}

std::string parse_split(const Json& node, const std::string& source) {
  const Json& pattern = node.value("pattern", Json());
  if (!pattern.is_object() || !pattern.contains("Regex")) {
    if (pattern.is_object() && pattern.contains("String"))
      fail_usage("{}: unsupported pre-tokenizer Split with a String pattern (Ember supports Regex patterns)", source);
    fail_usage("{}: pre-tokenizer Split has no pattern", source);
  }
  std::string behavior = field_or<std::string>(node, "behavior", "Isolated", "pre_tokenizer", source);
  if (behavior != "Isolated")
    fail_usage("{}: unsupported pre-tokenizer Split behavior '{}' (Ember supports Isolated)", source, behavior);
  if (field_or<bool>(node, "invert", false, "pre_tokenizer", source))
    fail_usage("{}: unsupported pre-tokenizer Split with invert=true", source);
  return pattern["Regex"].get<std::string>();
}

void parse_pre_tokenizer(const Json& node, const std::string& source, TokenizerSpec& spec) {
  if (node.is_null())
    fail_usage("{}: unsupported pre_tokenizer null (Ember needs a ByteLevel pre-tokenizer)", source);
  std::string type = type_of(node, "pre_tokenizer", source);
  std::vector<Json> stages;
  if (type == "Sequence") {
    const Json& list = node.value("pretokenizers", Json::array());
    stages.assign(list.begin(), list.end());
  } else {
    stages.push_back(node);
  }
  std::vector<std::string> types;
  for (const Json& stage : stages) types.push_back(type_of(stage, "pre_tokenizer", source));
  auto describe = [&] {
    std::string joined;
    for (const auto& t : types) joined += (joined.empty() ? "" : ", ") + t;
    return "[" + joined + "]";
  };
  if (types.size() == 1 && types[0] == "ByteLevel") {
    ByteLevelOptions options = parse_byte_level(stages[0], source);
    spec.pre_tokenizer = options.use_regex ? PreTokenizerKind::ByteLevelWithRegex : PreTokenizerKind::ByteLevelOnly;
    spec.add_prefix_space = options.add_prefix_space;
    return;
  }
  if (types.size() == 2 && types[0] == "Split" && types[1] == "ByteLevel") {
    ByteLevelOptions options = parse_byte_level(stages[1], source);
    if (options.use_regex)
      fail_usage("{}: unsupported pre-tokenizer Sequence[Split, ByteLevel(use_regex=true)] (two regex stages)", source);
    if (options.add_prefix_space)
      fail_usage("{}: unsupported pre-tokenizer Sequence[Split, ByteLevel(add_prefix_space=true)]", source);
    spec.pre_tokenizer = PreTokenizerKind::SplitThenByteLevel;
    spec.split_pattern = parse_split(stages[0], source);
    return;
  }
  fail_usage("{}: unsupported pre-tokenizer {} (Ember supports ByteLevel, or Sequence[Split, ByteLevel])", source,
             describe());
}

void check_decoder(const Json& node, const std::string& source) {
  if (node.is_null()) return;
  std::string type = type_of(node, "decoder", source);
  if (type == "ByteLevel") return;
  if (type == "Sequence") {
    for (const Json& part : node.value("decoders", Json::array())) check_decoder(part, source);
    return;
  }
  fail_usage("{}: unsupported decoder '{}' (Ember supports ByteLevel)", source, type);
}

void parse_model(const Json& model, const std::string& source, TokenizerSpec& spec) {
  if (!model.is_object()) fail_usage("{}: missing \"model\"", source);
  std::string type = model.contains("type") ? type_of(model, "model", source) : "BPE";
  if (type != "BPE") fail_usage("{}: unsupported model type '{}' (Ember supports BPE)", source, type);
  if (field_or<double>(model, "dropout", 0.0, "model", source) != 0.0)
    fail_usage("{}: unsupported BPE dropout (Ember needs dropout null)", source);
  if (!field_or<std::string>(model, "continuing_subword_prefix", "", "model", source).empty())
    fail_usage("{}: unsupported BPE continuing_subword_prefix", source);
  if (!field_or<std::string>(model, "end_of_word_suffix", "", "model", source).empty())
    fail_usage("{}: unsupported BPE end_of_word_suffix", source);
  if (field_or<bool>(model, "byte_fallback", false, "model", source))
    fail_usage("{}: unsupported BPE byte_fallback=true", source);
  spec.ignore_merges = field_or<bool>(model, "ignore_merges", false, "model", source);
  spec.unk_token = field_or<std::string>(model, "unk_token", "", "model", source);

  const Json& vocab = model.value("vocab", Json());
  if (!vocab.is_object()) fail_usage("{}: \"model.vocab\" must be an object of token -> id", source);
  spec.vocab.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > INT32_MAX)
      fail_usage("{}: vocab entry '{}' has an invalid id", source, it.key());
    spec.vocab.emplace_back(it.key(), it->get<int32_t>());
  }
  std::sort(spec.vocab.begin(), spec.vocab.end(), [](const auto& a, const auto& b) { return a.second < b.second; });

  const Json& merges = model.value("merges", Json::array());
  if (!merges.is_array()) fail_usage("{}: \"model.merges\" must be an array", source);
  spec.merges.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const Json& merge = merges[rank];
    if (merge.is_string()) {
      const std::string& text = merge.get_ref<const std::string&>();
      size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos)
        fail_usage("{}: merge {} ('{}') is not two tokens separated by one space", source, rank, text);
      spec.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      spec.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      fail_usage("{}: merge {} is neither \"a b\" nor [\"a\", \"b\"]", source, rank);
    }
  }
}

void parse_added_tokens(const Json& list, const std::string& source, TokenizerSpec& spec) {
  if (list.is_null()) return;
  if (!list.is_array()) fail_usage("{}: \"added_tokens\" must be an array", source);
  for (const Json& entry : list) {
    if (!entry.is_object() || !entry.contains("id") || !entry.contains("content"))
      fail_usage("{}: every added token needs \"id\" and \"content\"", source);
    AddedToken token;
    token.id = field_or<int32_t>(entry, "id", 0, "added_tokens", source);
    token.content = field_or<std::string>(entry, "content", "", "added_tokens", source);
    token.special = field_or<bool>(entry, "special", false, "added_tokens", source);
    token.normalized = field_or<bool>(entry, "normalized", !token.special, "added_tokens", source);
    for (const char* flag : {"single_word", "lstrip", "rstrip"})
      if (field_or<bool>(entry, flag, false, "added_tokens", source))
        fail_usage("{}: unsupported added token option {}=true (token '{}')", source, flag, token.content);
    spec.added_tokens.push_back(std::move(token));
  }
}

OrderedJson byte_level_node(bool add_prefix_space, bool use_regex) {
  return OrderedJson{{"type", "ByteLevel"},
                     {"add_prefix_space", add_prefix_space},
                     {"trim_offsets", true},
                     {"use_regex", use_regex}};
}

OrderedJson pre_tokenizer_node(const TokenizerSpec& spec) {
  switch (spec.pre_tokenizer) {
    case PreTokenizerKind::SplitThenByteLevel:
      return OrderedJson{{"type", "Sequence"},
                         {"pretokenizers", OrderedJson::array({OrderedJson{{"type", "Split"},
                                                                           {"pattern", {{"Regex", spec.split_pattern}}},
                                                                           {"behavior", "Isolated"},
                                                                           {"invert", false}},
                                                              byte_level_node(false, false)})}};
    case PreTokenizerKind::ByteLevelWithRegex:
      return byte_level_node(spec.add_prefix_space, true);
    case PreTokenizerKind::ByteLevelOnly:
      return byte_level_node(spec.add_prefix_space, false);
  }
  return nullptr;
}

}  // namespace

TokenizerSpec parse_tokenizer_json(std::string_view text, const std::string& source) {
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::parse_error& e) {
    fail_usage("{}: malformed JSON: {}", source, e.what());
  }
  if (!root.is_object()) fail_usage("{}: a tokenizer.json must be a JSON object", source);
  TokenizerSpec spec;
  parse_model(root.value("model", Json()), source, spec);
  parse_normalizer(root.value("normalizer", Json()), source, spec);
  parse_pre_tokenizer(root.value("pre_tokenizer", Json()), source, spec);
  check_decoder(root.value("decoder", Json()), source);
  parse_added_tokens(root.value("added_tokens", Json()), source, spec);
  spec.post_processor = root.value("post_processor", Json());
  return spec;
}

std::string serialize_tokenizer_json(const TokenizerSpec& spec) {
  OrderedJson added = OrderedJson::array();
  for (const AddedToken& token : spec.added_tokens)
    added.push_back(OrderedJson{{"id", token.id},
                                {"content", token.content},
                                {"single_word", false},
                                {"lstrip", false},
                                {"rstrip", false},
                                {"normalized", token.normalized},
                                {"special", token.special}});
  OrderedJson vocab = OrderedJson::object();
  for (const auto& [token, id] : spec.vocab) vocab[token] = id;
  OrderedJson merges = OrderedJson::array();
  for (const auto& [left, right] : spec.merges) merges.push_back(OrderedJson::array({left, right}));
  OrderedJson model{{"type", "BPE"},
                    {"dropout", nullptr},
                    {"unk_token", spec.unk_token.empty() ? OrderedJson() : OrderedJson(spec.unk_token)},
                    {"continuing_subword_prefix", nullptr},
                    {"end_of_word_suffix", nullptr},
                    {"fuse_unk", false},
                    {"byte_fallback", false},
                    {"ignore_merges", spec.ignore_merges},
                    {"vocab", std::move(vocab)},
                    {"merges", std::move(merges)}};
  OrderedJson root{{"version", "1.0"},
                   {"truncation", nullptr},
                   {"padding", nullptr},
                   {"added_tokens", std::move(added)},
                   {"normalizer", spec.nfc ? OrderedJson{{"type", "NFC"}} : OrderedJson()},
                   {"pre_tokenizer", pre_tokenizer_node(spec)},
                   {"post_processor", OrderedJson::parse(spec.post_processor.dump())},
                   {"decoder", byte_level_node(true, true)},
                   {"model", std::move(model)}};
  return root.dump(2) + "\n";
}

}  // namespace ember::data
