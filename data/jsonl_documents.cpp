// JsonlDocuments: the string field of each JSONL record as a document (see jsonl_documents.h).
#include "data/jsonl_documents.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace ember::data {

JsonlDocuments::JsonlDocuments(const std::string& path, std::string field) : in_(path), field_(std::move(field)) {}

std::string JsonlDocuments::location() const { return fmt::format("{}:{}", in_.path(), document_line_); }

std::optional<std::string> JsonlDocuments::next() {
  while (in_.read_line(line_)) {
    ++line_number_;
    if (line_.find_first_not_of(" \t\r\n\f\v") == std::string::npos) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line_);
    } catch (const nlohmann::json::exception& error) {
      fail("{}:{}: not a JSON object: {}", in_.path(), line_number_, error.what());
    }
    if (!record.is_object() || !record.contains(field_) || !record[field_].is_string()) {
      fail("{}:{}: no string field '{}' (choose the field with --field)", in_.path(), line_number_, field_);
    }
    auto text = record[field_].get<std::string>();
    if (text.empty()) continue;
    document_line_ = line_number_;
    return text;
  }
  return std::nullopt;
}

}  // namespace ember::data
