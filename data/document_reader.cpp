// DocumentReader: plain-text blocks and JSONL records as documents (see document_reader.h).
#include "data/document_reader.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace ember::data {
namespace {

bool is_blank(const std::string& line) { return line.find_first_not_of(" \t\r\n\f\v") == std::string::npos; }

}  // namespace

DocumentReader::DocumentReader(std::string path, std::string jsonl_field)
    : path_(std::move(path)), field_(std::move(jsonl_field)) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path_, error)) fail("input file not found: '{}'", path_);
  jsonl_ = std::filesystem::path(path_).extension() == ".jsonl";
  in_.open(path_, std::ios::binary);
  if (!in_) fail("cannot open input '{}': {}", path_, std::strerror(errno));
}

std::optional<std::string> DocumentReader::next() {
  std::optional<std::string> document = jsonl_ ? next_jsonl_record() : next_text_block();
  if (in_.bad()) fail("read error in '{}' near line {}", path_, line_number_);
  return document;
}

std::optional<std::string> DocumentReader::next_text_block() {
  std::string document;
  while (std::getline(in_, line_)) {
    ++line_number_;
    if (is_blank(line_)) {
      if (!document.empty()) return document;
      continue;
    }
    if (document.empty()) {
      document_line_ = line_number_;
    } else {
      document += '\n';
    }
    document += line_;
  }
  if (document.empty()) return std::nullopt;
  return document;
}

std::optional<std::string> DocumentReader::next_jsonl_record() {
  while (std::getline(in_, line_)) {
    ++line_number_;
    if (is_blank(line_)) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line_);
    } catch (const nlohmann::json::exception& error) {
      fail("{}:{}: not a JSON object: {}", path_, line_number_, error.what());
    }
    if (!record.is_object() || !record.contains(field_) || !record[field_].is_string()) {
      fail("{}:{}: no string field '{}'", path_, line_number_, field_);
    }
    auto text = record[field_].get<std::string>();
    if (text.empty()) continue;
    document_line_ = line_number_;
    return text;
  }
  return std::nullopt;
}

}  // namespace ember::data
