// Leftmost-longest matching of added tokens (see added_tokens.h).
#include "data/tokenizer/added_tokens.h"

#include <algorithm>

namespace ember::data {

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens) {
  for (const AddedToken& token : tokens) {
    if (token.content.empty()) continue;
    by_first_byte_[uint8_t(token.content[0])].push_back(Candidate{token.content, token.id});
    empty_ = false;
  }
  for (auto& candidates : by_first_byte_)
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) { return a.content.size() > b.content.size(); });
}

}  // namespace ember::data
