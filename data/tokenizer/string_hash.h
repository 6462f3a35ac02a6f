// A transparent string hash so unordered maps keyed by std::string can be probed with a
// std::string_view without building a temporary string (the hot path of encoding and counting).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ember::data {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

/// unordered_map<std::string, V> that accepts std::string_view keys in find().
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

}  // namespace ember::data
