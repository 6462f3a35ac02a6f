// The token ids and chat template a served model needs besides its weights, kept identical in
// every file that states them (config.json, generation_config.json, tokenizer_config.json, GGUF).
//
// An Ember-trained checkpoint takes them from its tokenizer: <|bos|>, <|eos|> and <|pad|>, and
// Ember's chat template. A checkpoint imported from Hugging Face keeps the ids and template of
// the original directory (recorded in its manifest under state.import).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/tokenizer/tokenizer.h"

namespace ember::exporting {

struct SpecialTokens {
  std::optional<int64_t> bos;
  std::vector<int64_t> eos;  ///< at least one id
  std::optional<int64_t> pad;
  std::string chat_template;

  /// A single id as an int, several as a list (the form Hugging Face files use).
  nlohmann::json eos_json() const;
};

/// Ember's own: <|bos|>, <|eos|>, <|pad|> of `tokenizer` (`source` names it in errors; <|eos|> is
/// required) and the Ember chat template.
SpecialTokens ember_special_tokens(const data::Tokenizer& tokenizer, const std::string& source);

/// The template for Ember-trained models: each message as "role: content" followed by the eos
/// token and a newline, beginning with the bos token when there is one; add_generation_prompt
/// appends "assistant: ".
std::string ember_chat_template(const std::optional<std::string>& bos_token, const std::string& eos_token);

/// Serialises / restores the record kept in an imported checkpoint's manifest (state.import).
nlohmann::json special_tokens_to_json(const SpecialTokens& tokens);
SpecialTokens special_tokens_from_json(const nlohmann::json& record, const std::string& source);

/// Checks every id against `vocab_rows`; throws ember::Error naming `source` otherwise.
void check_special_tokens(const SpecialTokens& tokens, int64_t vocab_rows, const std::string& source);

}  // namespace ember::exporting
