// generation_config.json and tokenizer_config.json (see hf_tokenizer_files.h).
#include "export/hf_tokenizer_files.h"

#include <string>

#include "core/error.h"

namespace ember::exporting {
namespace {

using nlohmann::json;

std::string token_text(const data::Tokenizer& tokenizer, int64_t id, const char* role) {
  auto text = tokenizer.id_to_token(int32_t(id));
  if (!text) fail("the {} id {} has no token in the tokenizer", role, id);
  return *text;
}

}  // namespace

json generation_config_json(const SpecialTokens& special) {
  json out = {{"_from_model_config", true},
              {"bos_token_id", special.bos ? json(*special.bos) : json(nullptr)},
              {"eos_token_id", special.eos_json()}};
  if (special.pad) out["pad_token_id"] = *special.pad;
  return out;
}

json tokenizer_config_json(const data::Tokenizer& tokenizer, const SpecialTokens& special, int64_t model_max_length) {
  json added = json::object();
  for (const data::AddedToken& token : tokenizer.spec().added_tokens) {
    added[std::to_string(token.id)] = {{"content", token.content}, {"lstrip", false},   {"normalized", token.normalized},
                                       {"rstrip", false},          {"single_word", false}, {"special", token.special}};
  }
  json out = {{"tokenizer_class", "PreTrainedTokenizerFast"},
              {"add_bos_token", false},
              {"add_eos_token", false},
              {"clean_up_tokenization_spaces", false},
              {"model_max_length", model_max_length},
              {"added_tokens_decoder", added},
              {"eos_token", token_text(tokenizer, special.eos.front(), "eos")},
              {"chat_template", special.chat_template}};
  out["bos_token"] = special.bos ? json(token_text(tokenizer, *special.bos, "bos")) : json(nullptr);
  out["pad_token"] = special.pad ? json(token_text(tokenizer, *special.pad, "pad")) : json(nullptr);
  return out;
}

}  // namespace ember::exporting
