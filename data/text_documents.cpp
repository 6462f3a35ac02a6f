// TextDocuments: whole files, blank-line blocks and single lines as documents (see text_documents.h).
#include "data/text_documents.h"

#include <fmt/format.h>

#include "core/error.h"

namespace ember::data {
namespace {

bool is_blank(std::string_view text) { return text.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos; }

}  // namespace

TextDocuments::TextDocuments(const std::string& path, DocumentUnit unit) : in_(path), unit_(unit) {
  if (unit_ != DocumentUnit::kFile && unit_ != DocumentUnit::kBlankLine && unit_ != DocumentUnit::kLine) {
    fail_usage("text file '{}' cannot be read with --document {}", path, document_unit_name(unit_));
  }
}

std::string TextDocuments::skip_reason() {
  std::string_view head = in_.peek();
  if (head.find('\0') != std::string_view::npos) return "binary";
  return "";
}

std::optional<std::string> TextDocuments::next() {
  switch (unit_) {
    case DocumentUnit::kFile: return next_file();
    case DocumentUnit::kBlankLine: return next_block();
    default: return next_line();
  }
}

std::string TextDocuments::location() const { return fmt::format("{}:{}", in_.path(), document_line_); }

std::optional<std::string> TextDocuments::next_file() {
  if (file_taken_) return std::nullopt;
  file_taken_ = true;
  document_line_ = 1;
  std::string document = in_.read_rest();
  if (is_blank(document)) return std::nullopt;
  return document;
}

std::optional<std::string> TextDocuments::next_block() {
  std::string document;
  while (in_.read_line(line_)) {
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

std::optional<std::string> TextDocuments::next_line() {
  while (in_.read_line(line_)) {
    ++line_number_;
    if (is_blank(line_)) continue;
    document_line_ = line_number_;
    return line_;
  }
  return std::nullopt;
}

}  // namespace ember::data
