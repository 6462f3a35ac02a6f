// Special token ids and chat templates for export (see special_tokens.h).
#include "export/special_tokens.h"

#include "core/error.h"

namespace ember::exporting {

nlohmann::json SpecialTokens::eos_json() const {
  if (eos.size() == 1) return eos.front();
  return eos;
}

std::string ember_chat_template(const std::optional<std::string>& bos_token, const std::string& eos_token) {
  std::string text;
  if (bos_token) text += "{{- '" + *bos_token + "' -}}\n";
  text +=
      "{%- for message in messages -%}\n"
      "{{- message['role'] + ': ' + message['content'] + '" + eos_token + "' + '\\n' -}}\n"
      "{%- endfor -%}\n"
      "{%- if add_generation_prompt -%}\n"
      "{{- 'assistant: ' -}}\n"
      "{%- endif -%}\n";
  return text;
}

SpecialTokens ember_special_tokens(const data::Tokenizer& tokenizer, const std::string& source) {
  SpecialTokens tokens;
  auto eos = tokenizer.token_to_id("<|eos|>");
  if (!eos) fail("tokenizer '{}' has no <|eos|> token, which Ember models end their text with", source);
  tokens.eos = {*eos};
  if (auto bos = tokenizer.token_to_id("<|bos|>")) tokens.bos = *bos;
  if (auto pad = tokenizer.token_to_id("<|pad|>")) tokens.pad = *pad;
  tokens.chat_template =
      ember_chat_template(tokens.bos ? std::optional<std::string>("<|bos|>") : std::nullopt, "<|eos|>");
  return tokens;
}

nlohmann::json special_tokens_to_json(const SpecialTokens& tokens) {
  nlohmann::json record = {{"eos_token_id", tokens.eos}, {"chat_template", tokens.chat_template}};
  record["bos_token_id"] = tokens.bos ? nlohmann::json(*tokens.bos) : nlohmann::json(nullptr);
  record["pad_token_id"] = tokens.pad ? nlohmann::json(*tokens.pad) : nlohmann::json(nullptr);
  return record;
}

SpecialTokens special_tokens_from_json(const nlohmann::json& record, const std::string& source) {
  SpecialTokens tokens;
  try {
    if (!record.at("bos_token_id").is_null()) tokens.bos = record.at("bos_token_id").get<int64_t>();
    if (!record.at("pad_token_id").is_null()) tokens.pad = record.at("pad_token_id").get<int64_t>();
    tokens.eos = record.at("eos_token_id").get<std::vector<int64_t>>();
    tokens.chat_template = record.at("chat_template").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    fail("'{}': malformed state.import record: {}", source, e.what());
  }
  if (tokens.eos.empty()) fail("'{}': state.import has no eos_token_id", source);
  return tokens;
}

void check_special_tokens(const SpecialTokens& tokens, int64_t vocab_rows, const std::string& source) {
  auto check = [&](const char* what, int64_t id) {
    if (id < 0 || id >= vocab_rows) {
      fail("'{}': {} {} is outside the model's vocabulary of {} rows", source, what, id, vocab_rows);
    }
  };
  if (tokens.bos) check("bos_token_id", *tokens.bos);
  if (tokens.pad) check("pad_token_id", *tokens.pad);
  for (int64_t id : tokens.eos) check("eos_token_id", id);
}

}  // namespace ember::exporting
