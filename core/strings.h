// Small string helpers shared across Ember (torch-free).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ember {

/// Splits on a single character; empty pieces are kept.
std::vector<std::string> split(std::string_view text, char separator);

/// Levenshtein distance (insertions, deletions, substitutions), for "did you mean" hints.
size_t edit_distance(std::string_view a, std::string_view b);

/// Removes leading and trailing ASCII whitespace.
std::string_view trim(std::string_view text);

}  // namespace ember
