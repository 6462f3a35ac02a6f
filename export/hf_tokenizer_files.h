// The tokenizer-side files of a Hugging Face directory, consistent with config.json:
//   generation_config.json  bos / eos / pad ids (eos as in config.json: an id or a list)
//   tokenizer_config.json   PreTrainedTokenizerFast, bos / eos / pad token strings, no automatic
//                           BOS/EOS (Ember's encode adds none), model_max_length, every added
//                           token in added_tokens_decoder, and the chat template
//   chat_template.jinja     the same template (recent transformers prefer this file; other
//                           consumers read only tokenizer_config.json)
// tokenizer.json itself is the canonical text Ember's Tokenizer saves.
#pragma once

#include <nlohmann/json.hpp>

#include "data/tokenizer/tokenizer.h"
#include "export/special_tokens.h"

namespace ember::exporting {

nlohmann::json generation_config_json(const SpecialTokens& special);

/// Throws ember::Error when a special id has no token in `tokenizer`.
nlohmann::json tokenizer_config_json(const data::Tokenizer& tokenizer, const SpecialTokens& special,
                                     int64_t model_max_length);

}  // namespace ember::exporting
