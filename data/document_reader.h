// Reads documents, one at a time, from the input files of `ember data prepare` (streaming: only
// the current document is held in memory).
//
//   plain text (any file not ending in .jsonl): documents are blocks of lines separated by one or
//              more blank lines (lines of only whitespace); a document's lines keep their text and
//              are joined with "\n". A file without blank lines is one document.
//   JSONL (.jsonl): one JSON object per line; the document is its string field `field` ("text").
//              Blank lines are skipped.
// Documents that are empty (or, for text, only whitespace) are skipped.
#pragma once

#include <cstddef>
#include <fstream>
#include <optional>
#include <string>

namespace ember::data {

class DocumentReader {
 public:
  /// Opens `path`; throws ember::Error naming it when it cannot be read.
  DocumentReader(std::string path, std::string jsonl_field = "text");

  /// The next document, or nullopt at the end of the file. Throws ember::Error naming the file and
  /// line for a JSONL line that is not an object with a string field `jsonl_field`.
  std::optional<std::string> next();

  /// Line (1-based) where the document last returned by next() starts.
  size_t document_line() const { return document_line_; }
  const std::string& path() const { return path_; }
  bool is_jsonl() const { return jsonl_; }

 private:
  std::optional<std::string> next_text_block();
  std::optional<std::string> next_jsonl_record();

  std::string path_, field_;
  bool jsonl_ = false;
  std::ifstream in_;
  std::string line_;
  size_t line_number_ = 0, document_line_ = 0;
};

}  // namespace ember::data
