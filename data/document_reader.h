// Documents, one at a time, from one input file of `ember data prepare` (streaming: only the
// current document is held in memory; for the `file` unit that is the whole file).
//
// The document unit says where one document ends (--document):
//   file         the whole file is one document (the default for text files: source code,
//                Markdown, prose; a document is never cut, so attention never stops inside it)
//   blank-line   blocks of lines separated by one or more blank (whitespace-only) lines; a
//                block's lines are joined with "\n" (paragraph-per-document corpora)
//   line         every non-blank line is a document (one sentence or record per line)
//   jsonl-field  one JSON object per line, the document is its string field --field (blank
//                lines are skipped)
// The unit given applies to text files. Record files are always read by records, whatever
// --document says: .jsonl / .ndjson by jsonl-field, and Parquet (.parquet, Hugging Face
// datasets' format) by rows, the document being the row's string column --field
// (parquet_reader.h). So a folder that mixes Markdown and JSONL reads each the right way.
// The extension is taken after any .gz / .zst / .zstd suffix (compressed_reader.h decompresses).
// Empty documents (for text units: whitespace only) are skipped.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace ember::data {

enum class DocumentUnit { kAuto, kFile, kBlankLine, kLine, kJsonlField };

/// "auto", "file", "blank-line", "line", "jsonl-field".
const char* document_unit_name(DocumentUnit unit);
/// The unit named `name`; throws ember::UsageError listing the names otherwise.
DocumentUnit parse_document_unit(const std::string& name);
/// The unit a non-Parquet file is read with when `requested` was asked for: jsonl-field for
/// .jsonl / .ndjson, else `requested` (kAuto: file).
DocumentUnit resolve_document_unit(const std::string& path, DocumentUnit requested);
/// True for .parquet files (after compression suffixes are stripped).
bool is_parquet_path(const std::string& path);

class DocumentReader {
 public:
  virtual ~DocumentReader() = default;
  /// The next document, or nullopt at the end of the file. Throws ember::Error naming the file
  /// and line (or row) for malformed records and read errors.
  virtual std::optional<std::string> next() = 0;
  /// Where the document last returned by next() starts: "FILE:LINE" or "FILE row N".
  virtual std::string location() const = 0;
  /// Why the file should be skipped rather than read ("binary" when a NUL byte appears in its
  /// first MiB), or empty. Only text units look; call before the first next().
  virtual std::string skip_reason() { return ""; }
  /// Bytes of the file's (decompressed) content consumed so far.
  virtual uint64_t bytes_read() const = 0;
};

/// A reader for `path`: Parquet by rows of column `field`, otherwise by
/// resolve_document_unit(path, unit). Throws ember::Error naming the file when it cannot be opened.
std::unique_ptr<DocumentReader> open_document_reader(const std::string& path, DocumentUnit unit,
                                                     const std::string& field = "text");

}  // namespace ember::data
